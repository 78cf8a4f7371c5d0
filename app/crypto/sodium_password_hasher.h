#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/password_hasher.h"

namespace authfcgi::crypto {

// argon2id (libsodium crypto_pwhash_str) with the given cost. Thread-safe (no state besides
// the cost); each call allocates memlimit bytes, so wrap it in a BoundedPasswordHasher.
class SodiumPasswordHasher final : public domain::PasswordHasher {
 public:
  // Longer passwords are refused before argon2 sees them.
  static constexpr std::size_t kMaxPasswordBytes = 4096;

  SodiumPasswordHasher(std::uint64_t opslimit, std::size_t memlimit);

  // Throws std::invalid_argument for a password over kMaxPasswordBytes and
  // std::runtime_error when argon2 fails (out of memory).
  [[nodiscard]] std::string hash(std::string_view password) const override;
  // False for a password over kMaxPasswordBytes, a wrong password or a malformed hash.
  [[nodiscard]] bool verify(std::string_view encoded_hash,
                            std::string_view password) const override;
  [[nodiscard]] bool needs_rehash(std::string_view encoded_hash) const override;

 private:
  std::uint64_t opslimit_;
  std::size_t memlimit_;
};

}  // namespace authfcgi::crypto
