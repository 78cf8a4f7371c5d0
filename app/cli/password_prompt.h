#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace authfcgi::cli {

// Whether to ask a second time and compare (new passwords), or once.
enum class ConfirmPassword { No, Yes };

struct PasswordInput {
  std::optional<std::string> password;  // nullopt: none was read; `problem` says why
  std::string problem;
};

// When fd is a terminal: prompts on prompt_out and reads a line from in with echo off (the
// terminal is restored on every path, and Ctrl-C takes effect only after that), asking twice
// and comparing with ConfirmPassword::Yes. Otherwise reads one line from in (scripts pipe the
// password) without prompting. A trailing "\r" is dropped.
[[nodiscard]] PasswordInput read_password(int fd, std::istream& in, std::ostream& prompt_out,
                                          ConfirmPassword confirm);

}  // namespace authfcgi::cli
