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

// Login throttling (SPEC "Login throttling"); docs/security.md explains the numbers.
struct ThrottleSettings {
  BackoffLimits pair{5, 60, 900, 3600};   // one account from one address
  WindowLimits stuffing{100, 24 * 3600};  // every account from one address
  WindowLimits distributed{50, 3600};     // one account from every address
  std::int64_t device_max_failures = 5;   // failures that kill a device marker
  std::int64_t device_max_age_seconds = 365 * 24 * 3600;
  // How long an attempt waits for attempts in flight on its keys before it is refused; only
  // a burst of attempts on one key near its limit waits at all.
  std::int64_t burst_wait_seconds = 10;
};

// Rows one account may hold at once; a new one ends the oldest. They bound what a stolen
// remember cookie replayed in a loop can add to the database.
inline constexpr std::size_t kMaxSessionsPerUser = 100;
inline constexpr std::size_t kMaxRememberTokensPerUser = 100;

}  // namespace authfcgi::domain
