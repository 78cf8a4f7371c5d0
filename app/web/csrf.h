#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"

namespace authfcgi::web {

enum class CsrfCheck { Ok, Missing, Invalid, Expired };

// Form tokens in the manner of Flask-WTF: "<issued_at>.<base64url HMAC(csrf key,
// csrf_secret '|' issued_at)>", bound to the session's csrf_secret and valid for time_limit.
class Csrf {
 public:
  Csrf(const crypto::KeyRing& keys, std::int64_t time_limit_seconds);

  [[nodiscard]] std::string issue(std::string_view csrf_secret, std::int64_t now) const;
  // Missing: empty token or no session secret; Invalid: bad form or MAC (any key);
  // Expired: MAC good but older than the time limit.
  [[nodiscard]] CsrfCheck check(std::string_view csrf_secret, std::string_view token,
                                std::int64_t now) const;

 private:
  const crypto::KeyRing& keys_;
  std::int64_t time_limit_seconds_;
};

// The 400 page texts of Flask-WTF.
[[nodiscard]] std::string_view csrf_failure_message(CsrfCheck check);

}  // namespace authfcgi::web
