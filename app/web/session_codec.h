#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "domain/session_state.h"

namespace authfcgi::web {

// SessionState <-> "v1.<base64url payload>.<base64url HMAC-SHA-256>" with the session key.
// Decoding verifies against the current and previous keys; a bad MAC, a malformed payload,
// or issued_at older than max_age (or in the future) gives nullopt: "no session".
class SessionCodec {
 public:
  SessionCodec(const crypto::KeyRing& keys, std::int64_t max_age_seconds);

  [[nodiscard]] std::string encode(const domain::SessionState& state) const;
  [[nodiscard]] std::optional<domain::SessionState> decode(std::string_view cookie_value,
                                                           std::int64_t now) const;

 private:
  const crypto::KeyRing& keys_;
  std::int64_t max_age_seconds_;
};

}  // namespace authfcgi::web
