#include "fcgi/request_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace authfcgi::fcgi {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Params only point into strings that outlive them (libfcgi's envp); the tests keep theirs in
// a map and pass views of it.
class OwnedParams : public std::map<std::string, std::string> {
 public:
  using std::map<std::string, std::string>::map;
  operator Params() const {  // NOLINT(google-explicit-constructor): a view for one call
    Params params;
    for (const auto& [name, value] : *this) {
      params.add(name, value);
    }
    return params;
  }
};

OwnedParams get(std::string uri) {
  return OwnedParams{{"REQUEST_METHOD", "GET"},
                     {"REQUEST_URI", std::move(uri)},
                     {"REMOTE_ADDR", "198.51.100.4"},
                     {"CONTENT_LENGTH", ""}};
}

OwnedParams post(std::string uri, std::string content_type, std::size_t length) {
  return OwnedParams{{"REQUEST_METHOD", "POST"},
                     {"REQUEST_URI", std::move(uri)},
                     {"CONTENT_TYPE", std::move(content_type)},
                     {"CONTENT_LENGTH", std::to_string(length)},
                     {"REMOTE_ADDR", "198.51.100.4"}};
}

int status_of(const ReadResult& result) {
  const auto* status = std::get_if<int>(&result);
  return status == nullptr ? 0 : *status;
}

const web::Request& request_of(const ReadResult& result) { return std::get<web::Request>(result); }

TEST(RequestReader, GetWithQueryGivesPathAndDecodedQuery) {
  auto result = read_request(get("/auth/login?next=%2Fsecret&x=a+b"), "");
  ASSERT_EQ(status_of(result), 0);
  const auto& request = request_of(result);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/auth/login");
  EXPECT_THAT(request.query, UnorderedElementsAre(Pair("next", "/secret"), Pair("x", "a b")));
  EXPECT_EQ(request.remote_addr, "198.51.100.4");
  EXPECT_FALSE(request.is_https);
  EXPECT_TRUE(request.form.empty());
}

TEST(RequestReader, TheRequiredGroupComesFromTheServersParamNeverFromAClientHeader) {
  OwnedParams params = get("/auth/verify");
  params["AUTHFCGI_REQUIRE_GROUP"] = "admins,staff";
  EXPECT_EQ(request_of(read_request(params, "")).require_group, "admins,staff");
  OwnedParams forged = get("/auth/verify");
  forged["AUTHFCGI_REQUIRE_GROUP"] = "admins";
  forged["HTTP_AUTHFCGI_REQUIRE_GROUP"] = "";  // a client's "Authfcgi-Require-Group:" header
  forged["HTTP_X_ORIGINAL_URI"] = "/admin/";
  const auto result = read_request(forged, "");
  const auto& request = request_of(result);
  EXPECT_EQ(request.require_group, "admins");
  EXPECT_EQ(request.headers.at("x-original-uri"), "/admin/");
}

TEST(RequestReader, OnlyTheServersParamMarksNginxsAuthSubrequest) {
  OwnedParams params = get("/auth/verify");
  EXPECT_EQ(request_of(read_request(params, "")).gateway, web::GatewayCall::None);
  params["HTTP_AUTHFCGI_GATEWAY"] = "auth_request";  // a client's header
  EXPECT_EQ(request_of(read_request(params, "")).gateway, web::GatewayCall::None);
  params["AUTHFCGI_GATEWAY"] = "auth_request";
  EXPECT_EQ(request_of(read_request(params, "")).gateway, web::GatewayCall::AuthRequest);
}

TEST(RequestReader, AnAuthorizerRequestBecomesTheGatewaysVerifyOfTheProtectedUri) {
  OwnedParams params = post("/private/upload?x=%zz", "application/x-www-form-urlencoded", 9);
  params["FCGI_ROLE"] = "AUTHORIZER";
  params["HTTP_X_ORIGINAL_URI"] = "/elsewhere";  // a client's header
  params["AUTHFCGI_REQUIRE_GROUP"] = "admins";
  bool body_read = false;
  const auto result = read_request(params, [&](std::size_t) -> std::optional<std::string> {
    body_read = true;  // the body belongs to the protected request and never comes
    return std::nullopt;
  });
  ASSERT_EQ(status_of(result), 0) << "the protected site's query is not ours to refuse";
  const auto& request = request_of(result);
  EXPECT_FALSE(body_read);
  EXPECT_EQ(request.gateway, web::GatewayCall::Authorizer);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/auth/verify");
  EXPECT_EQ(request.headers.at("x-original-uri"), "/private/upload?x=%zz");
  EXPECT_EQ(request.require_group, "admins");
  EXPECT_TRUE(request.form.empty());
}

TEST(RequestReader, WithoutRequestUriUsesTheCgiPieces) {
  OwnedParams params{{"REQUEST_METHOD", "GET"},
                     {"SCRIPT_NAME", "/auth"},
                     {"PATH_INFO", "/login"},
                     {"QUERY_STRING", "next=%2F"}};
  auto result = read_request(params, "");
  ASSERT_EQ(status_of(result), 0);
  EXPECT_EQ(request_of(result).path, "/auth/login");
  EXPECT_THAT(request_of(result).query, UnorderedElementsAre(Pair("next", "/")));
}

TEST(RequestReader, HeadIsPassedOnAsHead) {
  auto params = get("/");
  params["REQUEST_METHOD"] = "HEAD";
  auto result = read_request(params, "");
  ASSERT_EQ(status_of(result), 0);
  EXPECT_EQ(request_of(result).method, "HEAD");
}

TEST(RequestReader, HttpParamsBecomeLowerCaseHeaders) {
  auto params = get("/");
  params["HTTP_X_FORWARDED_FOR"] = "203.0.113.9";
  params["HTTP_USER_AGENT"] = "curl/8";
  params["CONTENT_TYPE"] = "text/plain";
  params["SERVER_NAME"] = "not-a-header";
  auto result = read_request(params, "");
  ASSERT_EQ(status_of(result), 0);
  EXPECT_THAT(
      request_of(result).headers,
      UnorderedElementsAre(Pair("x-forwarded-for", "203.0.113.9"), Pair("user-agent", "curl/8"),
                           Pair("content-type", "text/plain")));
}

TEST(RequestReader, HttpsOnMarksTheRequestSecure) {
  auto params = get("/");
  params["HTTPS"] = "on";
  EXPECT_TRUE(request_of(read_request(params, "")).is_https);
  params["HTTPS"] = "off";
  EXPECT_FALSE(request_of(read_request(params, "")).is_https);
}

TEST(RequestReader, CookiesAreParsed) {
  auto params = get("/");
  params["HTTP_COOKIE"] = "session=v1.abc.def; other=1";
  auto result = read_request(params, "");
  ASSERT_EQ(status_of(result), 0);
  EXPECT_EQ(request_of(result).cookies.at("session"), "v1.abc.def");
}

TEST(RequestReader, OversizedCookieHeaderIs400) {
  auto params = get("/");
  params["HTTP_COOKIE"] = "big=" + std::string(9000, 'a');
  EXPECT_EQ(status_of(read_request(params, "")), 400);
}

TEST(RequestReader, TooManyCookiesIs400) {
  auto params = get("/");
  std::string header;
  for (int i = 0; i < 60; ++i) {
    header += "c" + std::to_string(i) + "=1; ";
  }
  params["HTTP_COOKIE"] = header;
  EXPECT_EQ(status_of(read_request(params, "")), 400);
}

TEST(RequestReader, HeadersOver16KiBAre400) {
  auto params = get("/");
  params["HTTP_X_A"] = std::string(9000, 'a');
  params["HTTP_X_B"] = std::string(9000, 'b');
  EXPECT_EQ(status_of(read_request(params, "")), 400);
  params.erase("HTTP_X_B");
  EXPECT_EQ(status_of(read_request(params, "")), 0);
}

TEST(RequestReader, BrokenPercentEncodingInQueryIs400) {
  for (const char* uri : {"/?next=%2", "/?next=%zz", "/?a=%00", "/?a=%ff%fe"}) {
    EXPECT_EQ(status_of(read_request(get(uri), "")), 400) << uri;
  }
}

TEST(RequestReader, BadPathsAre400) {
  for (const std::string& uri :
       {std::string("auth/login"), std::string("*"), std::string("/a\0b", 4),
        std::string("/\xff\xfe"), std::string("/a\r\nb"), std::string("/\xc0\xaf")}) {
    EXPECT_EQ(status_of(read_request(get(uri), "")), 400) << ::testing::PrintToString(uri);
  }
}

TEST(RequestReader, MissingOrOddMethodIs400) {
  auto params = get("/");
  params.erase("REQUEST_METHOD");
  EXPECT_EQ(status_of(read_request(params, "")), 400);
  params["REQUEST_METHOD"] = "get\r\n";
  EXPECT_EQ(status_of(read_request(params, "")), 400);
}

TEST(RequestReader, PostFormIsParsed) {
  const std::string body = "email=ann%40example.com&password=p%26w&remember_me=y";
  auto result =
      read_request(post("/auth/login", "application/x-www-form-urlencoded", body.size()), body);
  ASSERT_EQ(status_of(result), 0);
  EXPECT_THAT(request_of(result).form,
              UnorderedElementsAre(Pair("email", "ann@example.com"), Pair("password", "p&w"),
                                   Pair("remember_me", "y")));
}

TEST(RequestReader, BrokenFormBodyIs400) {
  for (const std::string body : {"email=%4", "a=%00", "a=%C3%28"}) {
    auto params = post("/auth/login", "application/x-www-form-urlencoded", body.size());
    EXPECT_EQ(status_of(read_request(params, body)), 400) << body;
  }
}

TEST(RequestReader, MultipartWithoutBoundaryIs400) {
  const std::string body = "--x\r\n\r\n";
  auto params = post("/auth/login", "multipart/form-data", body.size());
  EXPECT_EQ(status_of(read_request(params, body)), 400);
}

TEST(RequestReader, BodyOver64KiBIs413BeforeReadingIt) {
  auto params = post("/auth/login", "application/x-www-form-urlencoded", 64 * 1024 + 1);
  auto length = announced_body_length(params, {});
  ASSERT_TRUE(std::holds_alternative<int>(length));
  EXPECT_EQ(std::get<int>(length), 413);
  EXPECT_EQ(status_of(read_request(params, "")), 413);
  int reads = 0;
  const BodySource never_read = [&reads](std::size_t) -> std::optional<std::string> {
    ++reads;
    return std::string();
  };
  EXPECT_EQ(status_of(read_request(params, never_read)), 413);
  EXPECT_EQ(reads, 0) << "a refused body must not be read";
}

TEST(RequestReader, TheBodySourceIsAskedForExactlyTheAnnouncedLength) {
  const std::string body = "email=a%40b.co&password=x";
  auto params = post("/auth/login", "application/x-www-form-urlencoded", body.size());
  std::vector<std::size_t> asked;
  const BodySource source = [&](std::size_t length) -> std::optional<std::string> {
    asked.push_back(length);
    return body;
  };
  auto result = read_request(params, source);
  ASSERT_EQ(status_of(result), 0);
  EXPECT_THAT(asked, ElementsAre(body.size()));
  EXPECT_THAT(request_of(result).form, Contains(Pair("email", "a@b.co")));
}

TEST(RequestReader, ABodyThatEndsEarlyIs400) {
  auto params = post("/auth/login", "application/x-www-form-urlencoded", 20);
  const BodySource ends_early = [](std::size_t) -> std::optional<std::string> {
    return std::nullopt;
  };
  EXPECT_EQ(status_of(read_request(params, ends_early)), 400);
}

TEST(RequestReader, BadContentLengthIsRefusedWhateverTheMethod) {
  for (const char* method : {"GET", "HEAD", "POST"}) {
    auto params = get("/");
    params["REQUEST_METHOD"] = method;
    params["CONTENT_LENGTH"] = "12x";
    EXPECT_EQ(status_of(read_request(params, "")), 400) << method;
    params["CONTENT_LENGTH"] = std::to_string(64 * 1024 + 1);
    EXPECT_EQ(status_of(read_request(params, "")), 413) << method;
  }
}

TEST(RequestReader, AstronomicalContentLengthIs413) {
  auto params = get("/");
  params["CONTENT_LENGTH"] = "99999999999999999999999999";
  EXPECT_EQ(std::get<int>(announced_body_length(params, {})), 413);
}

TEST(RequestReader, BodyOfExactly64KiBIsAccepted) {
  const std::string body = "a=" + std::string(64 * 1024 - 2, 'x');
  auto params = post("/auth/login", "application/x-www-form-urlencoded", body.size());
  EXPECT_EQ(std::get<std::size_t>(announced_body_length(params, {})), body.size());
  EXPECT_EQ(status_of(read_request(params, body)), 0);
}

TEST(RequestReader, NonNumericContentLengthIs400) {
  for (const char* length : {"abc", "-1", " 5", "5 ", "0x10", "+3"}) {
    auto params = get("/");
    params["CONTENT_LENGTH"] = length;
    EXPECT_EQ(std::get<int>(announced_body_length(params, {})), 400) << length;
    EXPECT_EQ(status_of(read_request(params, "")), 400) << length;
  }
}

TEST(RequestReader, BodyShorterThanAnnouncedIs400) {
  auto params = post("/auth/login", "application/x-www-form-urlencoded", 20);
  EXPECT_EQ(status_of(read_request(params, "email=a")), 400);
}

TEST(RequestReader, BodyLongerThanAnnouncedIs400) {
  auto params = post("/auth/login", "application/x-www-form-urlencoded", 7);
  EXPECT_EQ(status_of(read_request(params, "email=a&password=x")), 400);
}

TEST(RequestReader, EmptyContentLengthMeansNoBody) {
  EXPECT_EQ(std::get<std::size_t>(announced_body_length(get("/"), {})), 0U);
  EXPECT_EQ(std::get<std::size_t>(announced_body_length(OwnedParams{}, {})), 0U);
}

TEST(RequestReader, ParamsFromEnvpSplitsAtTheFirstEquals) {
  const char* envp[] = {"REQUEST_URI=/a?b=c", "EMPTY=", "NOEQUALS", "REQUEST_URI=/second", nullptr};
  auto params = params_from_envp(envp);
  EXPECT_EQ(params.get("REQUEST_URI"), "/a?b=c");
  EXPECT_EQ(params.find("EMPTY"), std::optional<std::string_view>(""));
  EXPECT_EQ(params.find("NOEQUALS"), std::nullopt);
  EXPECT_EQ(params.find("REQUEST"), std::nullopt);
}

}  // namespace
}  // namespace authfcgi::fcgi
