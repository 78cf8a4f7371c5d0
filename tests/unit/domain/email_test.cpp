#include "domain/email.h"

#include <gtest/gtest.h>

#include <string>

namespace authfcgi::domain {
namespace {

TEST(Email, NormalizeTrimsAndLowerCases) {
  EXPECT_EQ(normalize_email("  Paul@Example.COM \t"), "paul@example.com");
}

struct EmailCase {
  std::string email;
  std::optional<EmailError> expected;
};

void PrintTo(const EmailCase& c, std::ostream* out) {
  *out << ::testing::PrintToString(c.email.substr(0, 80));
}

class EmailValidation : public ::testing::TestWithParam<EmailCase> {};

TEST_P(EmailValidation, GivesTheWtformsVerdict) {
  EXPECT_EQ(validate_email(GetParam().email), GetParam().expected) << GetParam().email;
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, EmailValidation,
    ::testing::Values(EmailCase{"paul@example.com", std::nullopt},
                      EmailCase{"a.b+tag@sub.example.org", std::nullopt},
                      EmailCase{"", EmailError::Missing}, EmailCase{"paul", EmailError::Invalid},
                      EmailCase{"paul@", EmailError::Invalid},
                      EmailCase{"@example.com", EmailError::Invalid},
                      EmailCase{"paul@example", EmailError::Invalid},
                      EmailCase{"paul@@example.com", EmailError::Invalid},
                      EmailCase{"pa ul@example.com", EmailError::Invalid},
                      EmailCase{"paul@exa mple.com", EmailError::Invalid},
                      EmailCase{"paul@-example.com", EmailError::Invalid},
                      EmailCase{"paul@example..com", EmailError::Invalid},
                      EmailCase{"paul@1.2.3.4", EmailError::Invalid},
                      EmailCase{"<script>@example.com", EmailError::Invalid},
                      EmailCase{"x'or'1'='1@example.com", std::nullopt},
                      EmailCase{std::string(52, 'a') + "@example.com", std::nullopt},
                      EmailCase{std::string(53, 'a') + "@example.com", EmailError::TooLong},
                      EmailCase{std::string(10000, 'a') + "@example.com", EmailError::TooLong}));

TEST(Email, LengthCountsCharactersNotBytes) {
  // 52 two-byte characters + "@example.com" = 64 characters but 116 bytes.
  std::string local;
  for (int i = 0; i < 52; ++i) {
    local += "\xc3\xa9";
  }
  EXPECT_EQ(validate_email(local + "@example.com"), std::nullopt);
}

TEST(Email, MessagesAreTheWtformsTexts) {
  EXPECT_EQ(email_error_message(EmailError::Missing), "This field is required.");
  EXPECT_EQ(email_error_message(EmailError::TooLong),
            "Field must be between 1 and 64 characters long.");
  EXPECT_EQ(email_error_message(EmailError::Invalid), "Invalid email address.");
}

}  // namespace
}  // namespace authfcgi::domain

namespace authfcgi::domain {
namespace {

TEST(NewEmail, OnlyPrintableAsciiAddressesAreStored) {
  EXPECT_EQ(validate_new_email("paul@example.com"), std::nullopt);
  EXPECT_EQ(validate_new_email("paul@xn--exmple-cua.com"), std::nullopt) << "an IDN as xn--";
  for (const char* bad : {"paul@ex\xc3\xa4mple.com", "p\xc3\xa4ul@example.com",
                          "paul\xe2\x80\x8b@example.com" /* zero-width space */,
                          "paul@example.com\xc2\xa0", "\xe2\x80\xaepaul@example.com"}) {
    EXPECT_EQ(validate_new_email(bad), EmailError::Invalid) << bad;
    EXPECT_EQ(email_error_message(*validate_new_email(bad)), "Invalid email address.");
  }
  // A login still accepts an address an account may already have.
  EXPECT_EQ(validate_email("paul@ex\xc3\xa4mple.com"), std::nullopt);
  EXPECT_EQ(validate_new_email(""), EmailError::Missing);
}

}  // namespace
}  // namespace authfcgi::domain
