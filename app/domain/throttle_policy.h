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

// The two keys one login attempt is counted against.
struct ThrottleCounters {
  ThrottleState account;
  ThrottleState address;
};

struct ThrottleDecision {
  bool allowed = true;
  std::int64_t retry_after_seconds = 0;  // > 0 when not allowed
};

// Pure: may this key try now?
[[nodiscard]] ThrottleDecision decide_throttle(const ThrottleState& state, std::int64_t now,
                                               const ThrottleLimits& limits);

// Judges an attempt that was counted as a failure before its password was checked. `checked` is
// what the check before counting read and allowed; `counted` what counting returned (this
// attempt included). When no other attempt was counted in between, the check stands. When some
// were (attempts sent in parallel, all past the check before any was counted), this one is
// judged as if the one before it failed just now: a burst gets no more tries than a sequence.
[[nodiscard]] ThrottleDecision decide_counted_attempt(const ThrottleState& checked,
                                                      const ThrottleState& counted,
                                                      std::int64_t now,
                                                      const ThrottleLimits& limits);

}  // namespace authfcgi::domain
