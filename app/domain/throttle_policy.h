#pragma once

#include <cstdint>

namespace authfcgi::domain {

// How many failures a key (an account, or a client address) may have before it must wait,
// and how the wait grows: base, then doubling per further failure, up to max_delay.
// Failures older than forget_after no longer count.
struct ThrottleLimits {
  std::int64_t max_failures = 5;
  std::int64_t base_delay_seconds = 60;
  std::int64_t max_delay_seconds = 900;
  std::int64_t forget_after_seconds = 3600;
};

// What the store knows about one key.
struct ThrottleState {
  std::int64_t failures = 0;
  std::int64_t last_failure = 0;  // unix seconds; 0 when never failed
};

struct ThrottleDecision {
  bool allowed = true;
  std::int64_t retry_after_seconds = 0;  // > 0 when not allowed
};

// Pure: may this key try now?
[[nodiscard]] ThrottleDecision decide_throttle(const ThrottleState& state, std::int64_t now,
                                               const ThrottleLimits& limits);

}  // namespace authfcgi::domain
