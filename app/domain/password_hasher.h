#pragma once

#include <string>
#include <string_view>

namespace authfcgi::domain {

// Password hashing (argon2id in production). Thread-safe.
class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  // Returns an encoded hash string; throws std::runtime_error when out of memory.
  [[nodiscard]] virtual std::string hash(std::string_view password) const = 0;
  // True when password matches encoded_hash; false for a wrong password or a malformed hash.
  [[nodiscard]] virtual bool verify(std::string_view encoded_hash,
                                    std::string_view password) const = 0;
  // True when encoded_hash was made with other parameters than the configured ones.
  [[nodiscard]] virtual bool needs_rehash(std::string_view encoded_hash) const = 0;
};

}  // namespace authfcgi::domain
