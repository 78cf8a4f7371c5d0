#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace authfcgi::domain {

// What the auth core needs from cryptography, and nothing more: random tokens, the keyed hash
// that remember-me validators are stored as, the digest that session ids are stored as, and the
// keyed hash that names an account in a device marker.
// Implemented with libsodium in crypto/. Immutable and thread-safe.
class TokenCrypto {
 public:
  virtual ~TokenCrypto() = default;
  // Fills `out` with base64url (unpadded) encodings of `bytes_each` random bytes each, drawn at
  // once.
  virtual void random_tokens(std::span<std::string> out, std::size_t bytes_each) const = 0;
  // The keyed hash (current remember key) of a remember token's "<selector>.<validator>", as
  // stored in the database.
  [[nodiscard]] virtual std::string remember_hash(std::string_view token) const = 0;
  // True when `stored` is remember_hash(token) under the current or a previous key; compares in
  // constant time.
  [[nodiscard]] virtual bool remember_hash_matches(std::string_view token,
                                                   std::string_view stored) const = 0;
  // The unkeyed digest a session id is stored as (its row's key).
  [[nodiscard]] virtual std::string session_id_digest(std::string_view sid) const = 0;
  // True when digest is session_id_digest(value); compares in constant time.
  [[nodiscard]] virtual bool digest_matches(std::string_view value,
                                            std::string_view digest) const = 0;
  // The keyed hash (current device key) that names an account in a device marker.
  [[nodiscard]] virtual std::string device_account_tag(std::string_view email) const = 0;
  // True when tag is device_account_tag(email) under the current or a previous key; compares
  // in constant time.
  [[nodiscard]] virtual bool device_account_tag_matches(std::string_view email,
                                                        std::string_view tag) const = 0;
};

}  // namespace authfcgi::domain
