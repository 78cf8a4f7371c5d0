#pragma once

#include <cstddef>
#include <cstdint>

#include "domain/throttle_policy.h"

namespace authfcgi::domain {

// Lifetimes of the session cookie and row, the remember-me cookie and CSRF form tokens.
struct SessionSettings {
  std::int64_t max_age_seconds = 24 * 3600;  // session cookie and row lifetime
  std::int64_t remember_max_age_seconds = 365 * 24 * 3600;
  std::int64_t csrf_time_limit_seconds = 3600;  // Flask-WTF's default
  bool force_secure_cookies = false;            // Secure even when HTTPS is not reported
};

// Login throttling: per account, and more loosely per client address.
struct ThrottleSettings {
  ThrottleLimits account{5, 60, 900, 3600};
  ThrottleLimits address{20, 60, 900, 3600};
};

// Rows one account may hold at once; a new one ends the oldest. They bound what a stolen
// remember cookie replayed in a loop can add to the database.
inline constexpr std::size_t kMaxSessionsPerUser = 100;
inline constexpr std::size_t kMaxRememberTokensPerUser = 100;

}  // namespace authfcgi::domain
