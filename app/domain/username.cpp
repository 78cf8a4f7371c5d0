#include "domain/username.h"

#include <algorithm>
#include <cstddef>

namespace authfcgi::domain {
namespace {

constexpr std::size_t kMaxUsernameCharacters = 64;

bool is_ascii_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

}  // namespace

std::optional<UsernameError> validate_username(std::string_view username) {
  if (username.empty()) {
    return UsernameError::Missing;
  }
  // Counted in bytes: past the first non-ASCII byte the name is invalid anyway, and "too long"
  // is what a long all-ASCII name hears first, as in WTForms (Length before Regexp).
  if (username.size() > kMaxUsernameCharacters &&
      std::all_of(username.begin(), username.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return UsernameError::TooLong;
  }
  const bool valid = is_ascii_letter(username.front()) &&
                     std::all_of(username.begin(), username.end(), [](char c) {
                       return is_ascii_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '.';
                     });
  if (!valid) {
    return UsernameError::Invalid;
  }
  return std::nullopt;
}

std::string_view username_error_message(UsernameError error) {
  switch (error) {
    case UsernameError::Missing:
      return "This field is required.";
    case UsernameError::TooLong:
      return "Field must be between 1 and 64 characters long.";
    case UsernameError::Invalid:
      return "Usernames must have only letters, numbers, dots or underscores";
  }
  return "Invalid username.";
}

}  // namespace authfcgi::domain
