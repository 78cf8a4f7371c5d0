#include "cli/password_prompt.h"

#include <gtest/gtest.h>

#include <sstream>

namespace authfcgi::cli {
namespace {

// A pipe-like input (not a terminal): fd -1 is never a tty.
constexpr int kNotATerminal = -1;

TEST(PasswordPrompt, NonTerminalReadsOneLineWithoutPrompting) {
  std::istringstream in("s3cret pass\r\nsecond line\n");
  std::ostringstream prompt;
  auto input = read_password(kNotATerminal, in, prompt, ConfirmPassword::Yes);
  ASSERT_TRUE(input.password);
  EXPECT_EQ(*input.password, "s3cret pass");
  EXPECT_TRUE(prompt.str().empty());
}

TEST(PasswordPrompt, NonTerminalWithoutNewlineStillReadsThePassword) {
  std::istringstream in("no-newline");
  std::ostringstream prompt;
  auto input = read_password(kNotATerminal, in, prompt, ConfirmPassword::No);
  ASSERT_TRUE(input.password);
  EXPECT_EQ(*input.password, "no-newline");
}

TEST(PasswordPrompt, EmptyInputIsNoPassword) {
  std::istringstream in("");
  std::ostringstream prompt;
  auto input = read_password(kNotATerminal, in, prompt, ConfirmPassword::No);
  EXPECT_FALSE(input.password);
  EXPECT_FALSE(input.problem.empty());
}

}  // namespace
}  // namespace authfcgi::cli
