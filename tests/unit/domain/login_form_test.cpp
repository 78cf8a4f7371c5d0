#include "domain/login_form.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace authfcgi::domain {
namespace {

using ::testing::ElementsAre;

TEST(LoginForm, ReadsFieldsAndTheCheckbox) {
  const auto form = LoginForm::from_fields(
      {{"email", "Paul@Example.com"}, {"password", "corn"}, {"remember_me", "y"}});
  EXPECT_EQ(form.email, "Paul@Example.com");
  EXPECT_EQ(form.password, "corn");
  EXPECT_TRUE(form.remember_me);
  EXPECT_FALSE(LoginForm::from_fields({{"remember_me", "false"}}).remember_me);
  EXPECT_FALSE(LoginForm::from_fields({}).remember_me);
}

TEST(LoginForm, EmptyFormRequiresBothFields) {
  const auto errors = validate(LoginForm{});
  EXPECT_THAT(errors.email, ElementsAre("This field is required."));
  EXPECT_THAT(errors.password, ElementsAre("This field is required."));
}

TEST(LoginForm, ValidFormHasNoErrors) {
  EXPECT_TRUE(validate(LoginForm{"paul@example.com", "corn", false}).empty());
}

TEST(LoginForm, HugePasswordIsRejectedBeforeHashing) {
  const auto errors = validate(LoginForm{"paul@example.com", std::string(60000, 'x'), false});
  EXPECT_THAT(errors.password, ElementsAre("Field cannot be longer than 1024 characters."));
}

TEST(LoginForm, PasswordLengthCountsCharactersNotBytes) {
  std::string password;
  for (int i = 0; i < 1024; ++i) {
    password += "\xC3\xA9";  // 1024 characters, 2048 bytes
  }
  EXPECT_TRUE(validate(LoginForm{"paul@example.com", password, false}).empty());
  password += "x";
  EXPECT_FALSE(validate(LoginForm{"paul@example.com", password, false}).empty());
}

}  // namespace
}  // namespace authfcgi::domain
