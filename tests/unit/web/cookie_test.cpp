#include "web/cookie.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace authfcgi::web {
namespace {

using Cookies = std::map<std::string, std::string>;

struct ParseCase {
  std::string header;
  Cookies expected;
};

void PrintTo(const ParseCase& c, std::ostream* out) { *out << ::testing::PrintToString(c.header); }

class CookieParse : public ::testing::TestWithParam<ParseCase> {};

TEST_P(CookieParse, ParsesLikeABrowserSends) {
  const auto parsed = parse_cookie_header(GetParam().header);
  ASSERT_TRUE(parsed.has_value()) << GetParam().header;
  EXPECT_EQ(*parsed, GetParam().expected) << GetParam().header;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CookieParse,
    ::testing::Values(ParseCase{"", {}}, ParseCase{"a=1", {{"a", "1"}}},
                      ParseCase{"a=1; b=2", {{"a", "1"}, {"b", "2"}}},
                      ParseCase{"a=1;b=2", {{"a", "1"}, {"b", "2"}}},
                      ParseCase{"  a = 1 ;  b=2  ", {{"a", "1"}, {"b", "2"}}},
                      ParseCase{"session=\"v1.abc.def\"", {{"session", "v1.abc.def"}}},
                      ParseCase{"a=\"\"", {{"a", ""}}}, ParseCase{"a=", {{"a", ""}}},
                      ParseCase{"a=1; a=2", {{"a", "1"}}},                        // first wins
                      ParseCase{"a=x=y", {{"a", "x=y"}}},                         // '=' in a value
                      ParseCase{"garbage; a=1; =2; b c=3; d=\"x", {{"a", "1"}}},  // junk skipped
                      ParseCase{"a=1;;; ;b=2;", {{"a", "1"}, {"b", "2"}}},
                      ParseCase{"a=has space; b=2", {{"b", "2"}}},            // bad value skipped
                      ParseCase{"a=x\\y; b=\"q\"uote\"; c=3", {{"c", "3"}}},  // bad value skipped
                      ParseCase{"n\xC3\xA9=1; v=caf\xC3\xA9; ok=1", {{"ok", "1"}}},
                      ParseCase{"(a)=1; a:b=2; ok=1", {{"ok", "1"}}}));

TEST(CookieParseLimits, OversizedHeaderIsRefused) {
  const CookieLimits limits{.max_header_bytes = 20, .max_cookies = 50};
  EXPECT_TRUE(parse_cookie_header(std::string(20, 'a'), limits).has_value());
  EXPECT_EQ(parse_cookie_header(std::string(21, 'a'), limits), std::nullopt);
  EXPECT_EQ(parse_cookie_header("session=" + std::string(9000, 'x')), std::nullopt);
}

TEST(CookieParseLimits, TooManyPairsIsRefusedEvenWhenMalformed) {
  const CookieLimits limits{.max_header_bytes = 8192, .max_cookies = 3};
  EXPECT_TRUE(parse_cookie_header("a=1; b=2; c=3", limits).has_value());
  EXPECT_EQ(parse_cookie_header("a=1; b=2; c=3; d=4", limits), std::nullopt);
  EXPECT_EQ(parse_cookie_header("x; y; z; w", limits), std::nullopt);
  EXPECT_EQ(parse_cookie_header("a=1; a=2; a=3; a=4", limits), std::nullopt);
}

TEST(SetCookieSerialize, SessionCookieHasNoExpiry) {
  SetCookie cookie;
  cookie.name = "session";
  cookie.value = "v1.abc.def";
  EXPECT_EQ(serialize_set_cookie(cookie), "session=v1.abc.def; Path=/; HttpOnly; SameSite=Lax");
}

TEST(SetCookieSerialize, PersistentSecureStrictCookie) {
  SetCookie cookie;
  cookie.name = "remember_token";
  cookie.value = "sel.val";
  cookie.max_age = 31536000;
  cookie.secure = true;
  cookie.same_site = SameSite::Strict;
  EXPECT_EQ(serialize_set_cookie(cookie),
            "remember_token=sel.val; Path=/; Max-Age=31536000; HttpOnly; SameSite=Strict; Secure");
}

TEST(SetCookieSerialize, ZeroOrNegativeMaxAgeDeletes) {
  for (const std::int64_t max_age : {0L, -5L}) {
    SetCookie cookie;
    cookie.name = "remember_token";
    cookie.max_age = max_age;
    EXPECT_EQ(serialize_set_cookie(cookie),
              "remember_token=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
              "HttpOnly; SameSite=Lax");
  }
}

TEST(SetCookieSerialize, HttpOnlyCanBeOmittedAndPathChanged) {
  SetCookie cookie;
  cookie.name = "a";
  cookie.value = "1";
  cookie.http_only = false;
  cookie.path = "/auth";
  EXPECT_EQ(serialize_set_cookie(cookie), "a=1; Path=/auth; SameSite=Lax");
}

TEST(SetCookieSerialize, SerializedValueParsesBack) {
  SetCookie cookie;
  cookie.name = "session";
  cookie.value = "v1.AAAA-_.BBBB";
  const std::string header = serialize_set_cookie(cookie);
  const auto pair = header.substr(0, header.find(';'));
  EXPECT_EQ(parse_cookie_header(pair), (Cookies{{"session", "v1.AAAA-_.BBBB"}}));
}

}  // namespace
}  // namespace authfcgi::web
