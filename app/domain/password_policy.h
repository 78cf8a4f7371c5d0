#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authfcgi::domain {

// How many bits of guessing a password would take an attacker who knows the user's own words
// (zxcvbn's estimate). Thread-safe.
class PasswordStrength {
 public:
  virtual ~PasswordStrength() = default;
  [[nodiscard]] virtual double entropy_bits(std::string_view password,
                                            const std::vector<std::string>& user_words) const = 0;
};

enum class PasswordProblem { TooShort, TooLong, TooGuessable, ContainsUsername, ContainsEmail };

constexpr std::size_t kMinPasswordCharacters = 8;     // NIST SP 800-63B
constexpr std::size_t kMaxPasswordCharacters = 1024;  // and a bound on the hashing work
constexpr double kMinPasswordEntropyBits = 20.0;      // about zxcvbn's score 2

// The rules for a new password (registration, change, reset, authctl): its length in
// characters, the strength estimate, and neither the username nor the email's local part in it
// (ignoring case, when that has 3 or more characters). The first problem found, or nullopt.
[[nodiscard]] std::optional<PasswordProblem> check_new_password(std::string_view password,
                                                                std::string_view username,
                                                                std::string_view email,
                                                                const PasswordStrength& strength);

// What the form (or authctl) says, in our words.
[[nodiscard]] std::string_view password_problem_message(PasswordProblem problem);

}  // namespace authfcgi::domain
