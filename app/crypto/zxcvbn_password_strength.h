#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/password_policy.h"

namespace authfcgi::crypto {

// Debian's libzxcvbn (zxcvbn-c 2.5): the entropy in bits of the cheapest way to guess the
// password from its dictionaries, keyboard patterns, dates and the user's own words. Its
// dictionaries are compiled in and read-only, so one instance serves every thread.
class ZxcvbnPasswordStrength final : public domain::PasswordStrength {
 public:
  [[nodiscard]] double entropy_bits(std::string_view password,
                                    const std::vector<std::string>& user_words) const override;
};

}  // namespace authfcgi::crypto
