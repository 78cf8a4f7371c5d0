#pragma once

#include <optional>
#include <string_view>

namespace authfcgi::domain {

enum class UsernameError { Missing, TooLong, Invalid };

// Flasky's rule: 1 to 64 characters, a letter first, then letters, digits, dots or underscores
// (ASCII only: a Cyrillic "ј" must never pass for a Latin "j").
[[nodiscard]] std::optional<UsernameError> validate_username(std::string_view username);
// The WTForms texts: "This field is required.", "Field must be between 1 and 64 characters
// long.", "Usernames must have only letters, numbers, dots or underscores".
[[nodiscard]] std::string_view username_error_message(UsernameError error);

}  // namespace authfcgi::domain
