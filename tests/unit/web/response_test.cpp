#include "web/response.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace authfcgi::web {
namespace {

TEST(Response, HtmlSetsStatusBodyAndUtf8ContentType) {
  const Response response = Response::html(404, "<p>nope</p>");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, "<p>nope</p>");
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
}

TEST(Response, RedirectIsA302ToTheLocation) {
  const Response response = Response::redirect("/auth/login?next=%2Fsecret");
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.header("Location"), "/auth/login?next=%2Fsecret");
}

TEST(Response, HeaderLookupIsCaseInsensitiveAndFirstWins) {
  Response response;
  response.add_header("X-Test", "one");
  response.add_header("x-test", "two");
  EXPECT_EQ(response.header("X-TEST"), "one");
  EXPECT_EQ(response.header("missing"), "");
  EXPECT_EQ(response.headers_named("x-Test"), (std::vector<std::string_view>{"one", "two"}));
}

TEST(Response, SetCookieMayRepeatInOrder) {
  Response response = Response::html(200, "");
  response.add_header("Set-Cookie", "a=1");
  response.add_header("Set-Cookie", "b=2");
  EXPECT_EQ(response.headers_named("set-cookie"), (std::vector<std::string_view>{"a=1", "b=2"}));
}

}  // namespace
}  // namespace authfcgi::web
