#include "domain/password_policy.h"

#include <algorithm>

#include "util/strings.h"
#include "util/utf8.h"

namespace authfcgi::domain {
namespace {

constexpr std::size_t kMinWordToRefuse = 3;

bool contains_ignoring_case(std::string_view text, std::string_view word) {
  return word.size() >= kMinWordToRefuse &&
         util::ascii_lower(text).find(util::ascii_lower(word)) != std::string::npos;
}

}  // namespace

std::optional<PasswordProblem> check_new_password(std::string_view password,
                                                  std::string_view username, std::string_view email,
                                                  const PasswordStrength& strength) {
  const std::size_t characters = util::count_code_points(password);
  if (characters < kMinPasswordCharacters) {
    return PasswordProblem::TooShort;
  }
  if (characters > kMaxPasswordCharacters) {
    return PasswordProblem::TooLong;
  }
  const std::string_view local_part = email.substr(0, email.rfind('@'));
  if (contains_ignoring_case(password, username)) {
    return PasswordProblem::ContainsUsername;
  }
  if (email.find('@') != std::string_view::npos && contains_ignoring_case(password, local_part)) {
    return PasswordProblem::ContainsEmail;
  }
  std::vector<std::string> user_words;
  if (!username.empty()) {
    user_words.emplace_back(username);
  }
  if (!local_part.empty()) {
    user_words.emplace_back(local_part);
  }
  if (strength.entropy_bits(password, user_words) < kMinPasswordEntropyBits) {
    return PasswordProblem::TooGuessable;
  }
  return std::nullopt;
}

std::string_view password_problem_message(PasswordProblem problem) {
  switch (problem) {
    case PasswordProblem::TooShort:
      return "Password must be at least 8 characters long.";
    case PasswordProblem::TooLong:
      return "Password must be at most 1024 characters long.";
    case PasswordProblem::TooGuessable:
      return "This password is too easy to guess: add a few more words or characters.";
    case PasswordProblem::ContainsUsername:
      return "Password must not contain your username.";
    case PasswordProblem::ContainsEmail:
      return "Password must not contain your email address.";
  }
  return "Invalid password.";
}

}  // namespace authfcgi::domain
