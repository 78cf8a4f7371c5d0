#include "domain/username.h"

#include <gtest/gtest.h>

#include <string>

namespace authfcgi::domain {
namespace {

TEST(Username, FlaskysRuleALetterThenLettersDigitsDotsOrUnderscores) {
  for (const char* good : {"john", "J", "john.smith_2", "a.b.c"}) {
    EXPECT_EQ(validate_username(good), std::nullopt) << good;
  }
  for (const char* bad :
       {"2john", "_john", ".john", "john smith", "john-smith", "john@x",
        "\xd1\x98ohn" /* Cyrillic je */, "john\xc2\xa0" /* no-break space */,
        "jo\xc2\x85hn" /* C1 NEL */, "\xe2\x80\xaejohn" /* RTL override */, "john\n"}) {
    EXPECT_EQ(validate_username(bad), UsernameError::Invalid) << bad;
  }
  EXPECT_EQ(validate_username(""), UsernameError::Missing);
  EXPECT_EQ(validate_username(std::string(65, 'a')), UsernameError::TooLong);
  EXPECT_EQ(validate_username(std::string(64, 'a')), std::nullopt);
}

TEST(Username, TheMessagesAreWtformsAndFlaskys) {
  EXPECT_EQ(username_error_message(UsernameError::Invalid),
            "Usernames must have only letters, numbers, dots or underscores");
  EXPECT_EQ(username_error_message(UsernameError::Missing), "This field is required.");
}

}  // namespace
}  // namespace authfcgi::domain
