#include "domain/throttle_policy.h"

#include <algorithm>
#include <limits>

namespace authfcgi::domain {
namespace {

constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max();

// Seconds from then to now. A last failure in the future (another host whose clock runs ahead
// wrote it) counts as "just now", so no wait ever exceeds the configured maximum. Saturates
// instead of overflowing, because both values come from storage and may be anything.
std::int64_t seconds_since(std::int64_t then, std::int64_t now) {
  if (then >= now) {
    return 0;
  }
  if (then < 0 && now > kMaxSeconds + then) {
    return kMaxSeconds;
  }
  return now - then;
}

// base_delay * 2^(failures - max_failures), capped at max_delay. Doubling step by step instead
// of shifting: any cap is reached within 63 steps, so an absurd failure count costs no more than
// that and can never overflow.
std::int64_t backoff_seconds(std::int64_t failures_over_limit, const ThrottleLimits& limits) {
  const std::int64_t cap = std::max<std::int64_t>(limits.max_delay_seconds, 0);
  std::int64_t wait = std::clamp<std::int64_t>(limits.base_delay_seconds, 0, cap);
  for (std::int64_t step = failures_over_limit; step > 0 && wait > 0 && wait < cap; --step) {
    wait = wait > cap / 2 ? cap : wait * 2;
  }
  return wait;
}

}  // namespace

ThrottleDecision decide_throttle(const ThrottleState& state, std::int64_t now,
                                 const ThrottleLimits& limits) {
  const ThrottleDecision allowed{true, 0};
  // A limit below one failure makes no sense; the strictest sensible reading is "wait after the
  // first failure". Clamping also keeps failures - max_failures from overflowing below.
  const std::int64_t max_failures = std::max<std::int64_t>(limits.max_failures, 1);
  if (state.failures < max_failures) {
    return allowed;
  }
  const std::int64_t elapsed = seconds_since(state.last_failure, now);
  // The same rule as the store's record_failure: a negative window counts as zero.
  if (elapsed > std::max<std::int64_t>(limits.forget_after_seconds, 0)) {
    return allowed;
  }
  const std::int64_t wait = backoff_seconds(state.failures - max_failures, limits);
  if (elapsed >= wait) {
    return allowed;
  }
  // elapsed < wait, so at least one second remains.
  return ThrottleDecision{false, wait - elapsed};
}

ThrottleDecision decide_counted_attempt(const ThrottleState& checked, const ThrottleState& counted,
                                        std::int64_t now, const ThrottleLimits& limits) {
  // The failures the check saw that still counted; the store starts over past the window by
  // the same rule.
  const bool remembered =
      checked.failures > 0 && seconds_since(checked.last_failure, now) <=
                                  std::max<std::int64_t>(limits.forget_after_seconds, 0);
  const std::int64_t seen = remembered ? checked.failures : 0;
  const std::int64_t before_this = counted.failures > 0 ? counted.failures - 1 : 0;
  if (before_this == seen) {
    return decide_throttle(remembered ? checked : ThrottleState{}, now, limits);
  }
  return decide_throttle(ThrottleState{before_this, now}, now, limits);
}

}  // namespace authfcgi::domain
