#include "domain/password_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "crypto/zxcvbn_password_strength.h"

namespace authfcgi::domain {
namespace {

// The real estimate: the rule's point is which passwords it lets through.
const crypto::ZxcvbnPasswordStrength kStrength;

std::optional<PasswordProblem> check(std::string_view password, std::string_view username = "paul",
                                     std::string_view email = "paul.smith@example.com") {
  return check_new_password(password, username, email, kStrength);
}

TEST(PasswordPolicy, LengthCountsCharactersFrom8To1024) {
  EXPECT_EQ(check("Zq7#vX1"), PasswordProblem::TooShort);
  EXPECT_EQ(check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
            PasswordProblem::TooShort)
      << "7 characters in 14 bytes";
  EXPECT_EQ(check(std::string(1025, 'x') + "Q7#"), PasswordProblem::TooLong);
  EXPECT_EQ(check("correct horse battery staple"), std::nullopt);
}

TEST(PasswordPolicy, CommonAndPatternedPasswordsAreTooEasyToGuess) {
  for (const char* weak : {"password", "password1", "12345678", "qwertyuiop", "iloveyou!",
                           "aaaaaaaaaaaa", "abcdefgh", "P@ssw0rd", "letmein123"}) {
    EXPECT_EQ(check(weak), PasswordProblem::TooGuessable) << weak;
  }
  for (const char* strong : {"Corn-flakes-2026!", "purple monkey dishwasher", "t7#Kq9!zR2"}) {
    EXPECT_EQ(check(strong), std::nullopt) << strong;
  }
}

TEST(PasswordPolicy, TheUsernameOrTheEmailsLocalPartInThePasswordIsRefusedIgnoringCase) {
  EXPECT_EQ(check("my-PAUL-is-long-2026"), PasswordProblem::ContainsUsername);
  EXPECT_EQ(check("Paul.Smith-rocks-2026", "psm"), PasswordProblem::ContainsEmail);
  // Shorter than 3 characters: too common a piece of text to forbid.
  EXPECT_EQ(check("al-wins-at-chess-2026", "al", "al@example.com"), std::nullopt);
}

TEST(PasswordPolicy, EveryProblemHasItsOwnMessage) {
  EXPECT_EQ(password_problem_message(PasswordProblem::TooShort),
            "Password must be at least 8 characters long.");
  EXPECT_EQ(password_problem_message(PasswordProblem::ContainsUsername),
            "Password must not contain your username.");
  EXPECT_NE(password_problem_message(PasswordProblem::TooGuessable),
            password_problem_message(PasswordProblem::TooLong));
}

}  // namespace
}  // namespace authfcgi::domain
