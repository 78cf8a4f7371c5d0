#pragma once

#include "crypto/key_ring.h"
#include "domain/random_source.h"
#include "domain/token_crypto.h"

namespace authfcgi::crypto {

// TokenCrypto with libsodium: HMAC-SHA-256 with the remember key (hex) for remember validators,
// SHA-256 (hex) for session ids, base64url for random tokens. Thread-safe.
class SodiumTokenCrypto final : public domain::TokenCrypto {
 public:
  SodiumTokenCrypto(const KeyRing& keys, const domain::RandomSource& random);

  void random_tokens(std::span<std::string> out, std::size_t bytes_each) const override;
  [[nodiscard]] std::string remember_hash(std::string_view token) const override;
  [[nodiscard]] bool remember_hash_matches(std::string_view token,
                                           std::string_view stored) const override;
  [[nodiscard]] std::string session_id_digest(std::string_view sid) const override;
  [[nodiscard]] bool digest_matches(std::string_view value, std::string_view digest) const override;
  [[nodiscard]] std::string device_account_tag(std::string_view email) const override;
  [[nodiscard]] bool device_account_tag_matches(std::string_view email,
                                                std::string_view tag) const override;

 private:
  const KeyRing& keys_;
  const domain::RandomSource& random_;
};

}  // namespace authfcgi::crypto
