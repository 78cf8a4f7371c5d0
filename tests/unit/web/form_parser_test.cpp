#include "web/form_parser.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace authfcgi::web {
namespace {

constexpr std::string_view kUrlencoded = "application/x-www-form-urlencoded";

std::string multipart_body(std::string_view boundary,
                           const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    body += "--" + std::string(boundary) + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n";
    body += value + "\r\n";
  }
  body += "--" + std::string(boundary) + "--\r\n";
  return body;
}

struct UrlencodedCase {
  std::string body;
  std::optional<FormFields> expected;
};

// Readable test names in ctest output instead of a byte dump.
void PrintTo(const UrlencodedCase& c, std::ostream* out) {
  *out << ::testing::PrintToString(c.body);
}

class Urlencoded : public ::testing::TestWithParam<UrlencodedCase> {};

TEST_P(Urlencoded, ParsesStrictly) {
  EXPECT_EQ(parse_form_body(kUrlencoded, GetParam().body), GetParam().expected) << GetParam().body;
  EXPECT_EQ(parse_query_string(GetParam().body), GetParam().expected) << GetParam().body;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Urlencoded,
    ::testing::Values(UrlencodedCase{"", FormFields{}},
                      UrlencodedCase{"email=paul%40example.com&password=a+b%2Bc&remember_me=y",
                                     FormFields{{"email", "paul@example.com"},
                                                {"password", "a b+c"},
                                                {"remember_me", "y"}}},
                      UrlencodedCase{"a=1&a=2", FormFields{{"a", "1"}}},  // first wins
                      UrlencodedCase{"a=1&&b=&c", FormFields{{"a", "1"}, {"b", ""}, {"c", ""}}},
                      UrlencodedCase{"next=%2Fsecret%3Fx%3D1", FormFields{{"next", "/secret?x=1"}}},
                      UrlencodedCase{"n=caf%C3%A9", FormFields{{"n", "caf\xC3\xA9"}}},
                      UrlencodedCase{"a=%", std::nullopt}, UrlencodedCase{"a=%4", std::nullopt},
                      UrlencodedCase{"a=%zz", std::nullopt}, UrlencodedCase{"%zz=1", std::nullopt},
                      UrlencodedCase{"a=%00", std::nullopt}, UrlencodedCase{"a=%C3", std::nullopt},
                      UrlencodedCase{"a=%C0%AF", std::nullopt},  // overlong '/'
                      UrlencodedCase{"a=\xFF", std::nullopt},    // raw invalid UTF-8
                      UrlencodedCase{std::string("a=x\0y", 5), std::nullopt},
                      UrlencodedCase{"ok=1&bad=%ED%A0%80", std::nullopt}));  // surrogate

TEST(FormLimitsTest, TooManyFieldsIsRefused) {
  const FormLimits limits{.max_fields = 3, .max_name_bytes = 256, .max_value_bytes = 65536};
  EXPECT_TRUE(parse_form_body(kUrlencoded, "a=1&b=2&c=3", limits).has_value());
  EXPECT_EQ(parse_form_body(kUrlencoded, "a=1&b=2&c=3&d=4", limits), std::nullopt);
  EXPECT_EQ(parse_form_body(kUrlencoded, "a=1&a=1&a=1&a=1", limits), std::nullopt);
  EXPECT_EQ(parse_query_string("a&b&c&d", limits), std::nullopt);
}

TEST(FormLimitsTest, OversizedNameOrValueIsRefused) {
  const FormLimits limits{.max_fields = 64, .max_name_bytes = 4, .max_value_bytes = 8};
  EXPECT_TRUE(parse_form_body(kUrlencoded, "abcd=12345678", limits).has_value());
  EXPECT_EQ(parse_form_body(kUrlencoded, "abcde=1", limits), std::nullopt);
  EXPECT_EQ(parse_form_body(kUrlencoded, "a=123456789", limits), std::nullopt);
  // Decoded size counts: three encoded bytes that decode to one are fine.
  EXPECT_TRUE(parse_form_body(kUrlencoded, "a=%41%41%41%41%41%41%41%41", limits).has_value());
}

TEST(FormContentType, MissingOrOtherTypeGivesAnEmptyForm) {
  EXPECT_EQ(parse_form_body("", "email=a%40b.c"), FormFields{});
  EXPECT_EQ(parse_form_body("text/plain", "email=a%40b.c"), FormFields{});
  EXPECT_EQ(parse_form_body("application/json", "{\"email\":1}"), FormFields{});
}

TEST(FormContentType, TypeIsCaseInsensitiveAndMayHaveParameters) {
  EXPECT_EQ(parse_form_body("Application/X-WWW-Form-Urlencoded; charset=UTF-8", "a=1"),
            (FormFields{{"a", "1"}}));
}

TEST(Multipart, ParsesFieldsFirstWins) {
  const std::string body = multipart_body(
      "XyZ123", {{"email", "paul@example.com"}, {"password", "p a+s%41"}, {"email", "other"}});
  EXPECT_EQ(parse_form_body("multipart/form-data; boundary=XyZ123", body),
            (FormFields{{"email", "paul@example.com"}, {"password", "p a+s%41"}}));
}

TEST(Multipart, QuotedBoundaryWorks) {
  const std::string body = multipart_body("a b'c", {{"x", "1"}});
  EXPECT_EQ(parse_form_body("multipart/form-data; boundary=\"a b'c\"", body),
            (FormFields{{"x", "1"}}));
}

TEST(Multipart, ValuesMayHoldNewlinesAndUtf8) {
  const std::string body = multipart_body("b", {{"x", "line1\r\nline2 caf\xC3\xA9"}});
  EXPECT_EQ(parse_form_body("multipart/form-data; boundary=b", body),
            (FormFields{{"x", "line1\r\nline2 caf\xC3\xA9"}}));
}

TEST(Multipart, EmptyBodyIsAnEmptyForm) {
  EXPECT_EQ(parse_form_body("multipart/form-data; boundary=b", ""), FormFields{});
}

class BrokenMultipart : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(BrokenMultipart, IsRefused) {
  EXPECT_EQ(parse_form_body(GetParam().first, GetParam().second), std::nullopt) << GetParam().first;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BrokenMultipart,
    ::testing::Values(
        std::pair<std::string, std::string>{"multipart/form-data",
                                            multipart_body("b", {{"x", "1"}})},
        std::pair<std::string, std::string>{"multipart/form-data; charset=utf-8",
                                            multipart_body("b", {{"x", "1"}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=",
                                            multipart_body("b", {{"x", "1"}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=\"b",
                                            multipart_body("b", {{"x", "1"}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=" + std::string(71, 'b'),
                                            multipart_body(std::string(71, 'b'), {{"x", "1"}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=zzz",
                                            multipart_body("b", {{"x", "1"}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=b", "garbage"},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=b",
                                            "--b\r\nContent-Disposition: form-data; "
                                            "name=\"x\"\r\n\r\n1\r\n"},  // never closed
        std::pair<std::string, std::string>{"multipart/form-data; boundary=b", "--b--\r\n"},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=b",
                                            multipart_body("b", {{"x", "\xFF"}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=b",
                                            multipart_body("b", {{"x", "\xED\xA0\x80"}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=b",
                                            multipart_body("b", {{"x", std::string("a\0b", 3)}})},
        std::pair<std::string, std::string>{"multipart/form-data; boundary=b",
                                            multipart_body("b", {{"n\xC0\xAF", "1"}})}));

TEST(Multipart, TooManyFieldsIsRefused) {
  const FormLimits limits{.max_fields = 2, .max_name_bytes = 256, .max_value_bytes = 65536};
  EXPECT_TRUE(parse_form_body("multipart/form-data; boundary=b",
                              multipart_body("b", {{"a", "1"}, {"b", "2"}}), limits)
                  .has_value());
  EXPECT_EQ(parse_form_body("multipart/form-data; boundary=b",
                            multipart_body("b", {{"a", "1"}, {"b", "2"}, {"c", "3"}}), limits),
            std::nullopt);
}

TEST(Multipart, OversizedValueIsRefused) {
  const FormLimits limits{.max_fields = 64, .max_name_bytes = 256, .max_value_bytes = 4};
  EXPECT_EQ(parse_form_body("multipart/form-data; boundary=b",
                            multipart_body("b", {{"a", "12345"}}), limits),
            std::nullopt);
}

}  // namespace
}  // namespace authfcgi::web
