#include "fcgi/response_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace authfcgi::fcgi {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

web::Response page() {
  web::Response response;
  response.status = 404;
  response.headers = {
      {"Content-Type", "text/html; charset=utf-8"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}};
  response.body = "<p>gone</p>";
  return response;
}

TEST(ResponseWriter, WritesStatusHeadersBlankLineAndBody) {
  EXPECT_EQ(format_response(page(), IncludeBody::Yes),
            "Status: 404 Not Found\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Set-Cookie: a=1\r\n"
            "Set-Cookie: b=2\r\n"
            "Content-Length: 11\r\n"
            "\r\n"
            "<p>gone</p>");
}

TEST(ResponseWriter, HeadGetsTheHeadersAndTheGetsLengthButNoBody) {
  const auto text = format_response(page(), IncludeBody::No);
  EXPECT_EQ(text,
            "Status: 404 Not Found\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Set-Cookie: a=1\r\n"
            "Set-Cookie: b=2\r\n"
            "Content-Length: 11\r\n"
            "\r\n");
  EXPECT_EQ(text, format_head(page()));
}

TEST(ResponseWriter, AnEmptyBodyAnnouncesLengthZeroForGetAndHead) {
  web::Response response;
  response.status = 200;
  EXPECT_EQ(format_response(response, IncludeBody::Yes),
            "Status: 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(format_response(response, IncludeBody::No),
            "Status: 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST(ResponseWriter, ContentLengthIsAlwaysTheBodySentNeverOneFromTheResponse) {
  web::Response response = page();
  response.headers.emplace_back("content-length", "3");
  response.headers.emplace_back("Content-Length", "99");
  const auto get = format_response(response, IncludeBody::Yes);
  EXPECT_THAT(get, HasSubstr("\r\nContent-Length: 11\r\n\r\n<p>gone</p>"));
  EXPECT_THAT(get, Not(HasSubstr("Content-Length: 3")));
  EXPECT_THAT(get, Not(HasSubstr("Content-Length: 99")));
  const auto head = format_response(response, IncludeBody::No);
  EXPECT_THAT(head, HasSubstr("\r\nContent-Length: 11\r\n\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("<p>gone</p>")));
  EXPECT_THAT(head, Not(HasSubstr("Content-Length: 99")));
}

TEST(ResponseWriter, LineBreaksInHeadersCannotSplitTheResponse) {
  web::Response response;
  response.status = 302;
  response.headers = {{"Location", "/next\r\nSet-Cookie: evil=1"},
                      {"X-\nBad", std::string("v\0x", 3)}};
  const auto text = format_response(response, IncludeBody::Yes);
  EXPECT_THAT(text, HasSubstr("Status: 302 Found\r\n"));
  EXPECT_THAT(text, HasSubstr("Location: /nextSet-Cookie: evil=1\r\n"));
  EXPECT_THAT(text, Not(HasSubstr("\nSet-Cookie")));
  EXPECT_THAT(text, HasSubstr("X-Bad: vx\r\n"));
}

TEST(ResponseWriter, ReasonPhrasesForTheStatusesWeSend) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(405), "Method Not Allowed");
  EXPECT_EQ(reason_phrase(413), "Payload Too Large");
  EXPECT_EQ(reason_phrase(429), "Too Many Requests");
  EXPECT_EQ(reason_phrase(503), "Service Unavailable");
}

}  // namespace
}  // namespace authfcgi::fcgi
