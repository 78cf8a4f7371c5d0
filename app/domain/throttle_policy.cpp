#include "domain/throttle_policy.h"

#include <algorithm>
#include <limits>

namespace authfcgi::domain {
namespace {

constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max();

// Seconds from then to now. A failure in the future (another host whose clock runs ahead
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

// base_delay * 2^(failures_over_limit), capped at max_delay. Doubling step by step instead of
// shifting: any cap is reached within 63 steps, so an absurd count costs no more than that.
std::int64_t backoff_seconds(std::int64_t failures_over_limit, const BackoffLimits& limits) {
  const std::int64_t cap = std::max<std::int64_t>(limits.max_delay_seconds, 0);
  std::int64_t wait = std::clamp<std::int64_t>(limits.base_delay_seconds, 0, cap);
  for (std::int64_t step = failures_over_limit; step > 0 && wait > 0 && wait < cap; --step) {
    wait = wait > cap / 2 ? cap : wait * 2;
  }
  return wait;
}

// A limit below one failure makes no sense; the strictest sensible reading is "wait after the
// first failure".
std::int64_t at_least_one(std::int64_t max_failures) {
  return std::max<std::int64_t>(max_failures, 1);
}

}  // namespace

std::string_view scope_name(ThrottleScope scope) {
  switch (scope) {
    case ThrottleScope::Pair:
      return "pair";
    case ThrottleScope::Address:
      return "address";
    case ThrottleScope::Account:
      return "account";
    case ThrottleScope::Device:
      return "device";
  }
  return "pair";
}

std::string ThrottleKey::text() const {
  // '\n' cannot occur in a validated email, an address the web server passes or a marker id.
  std::string text(scope_name(scope));
  text.push_back('\n');
  text.append(email);
  text.push_back('\n');
  text.append(address);
  text.push_back('\n');
  text.append(device);
  return text;
}

TriesLeft tries_left(const BackoffLimits& limits, const KeyHistory& history, std::int64_t now) {
  const std::int64_t max_failures = at_least_one(limits.max_failures);
  if (history.failures < max_failures) {
    return {max_failures - std::max<std::int64_t>(history.failures, 0), 0};
  }
  const std::int64_t wait = backoff_seconds(history.failures - max_failures, limits);
  const std::int64_t elapsed = seconds_since(history.last_failure, now);
  if (elapsed >= wait) {
    return {1, 0};  // one more try; its failure starts the next, longer wait
  }
  return {0, wait - elapsed};
}

TriesLeft tries_left(const WindowLimits& limits, const KeyHistory& history, std::int64_t now) {
  const std::int64_t max_failures = at_least_one(limits.max_failures);
  if (history.failures < max_failures) {
    return {max_failures - std::max<std::int64_t>(history.failures, 0), 0};
  }
  // The key opens again when its oldest failure ages out. At least a second (the store only
  // counts failures that end after now); a row that claims to count for longer than the window
  // (a clock far ahead) waits no longer than the window.
  const std::int64_t window = std::max<std::int64_t>(limits.window_seconds, 1);
  return {0, std::clamp<std::int64_t>(seconds_since(now, history.first_expiry), 1, window)};
}

std::string wait_text(std::int64_t seconds) {
  const auto plural = [](std::int64_t count, const char* unit) {
    return std::to_string(count) + " " + unit + (count == 1 ? "" : "s");
  };
  seconds = std::max<std::int64_t>(seconds, 1);
  if (seconds < 60) {
    return plural(seconds, "second");
  }
  // Minutes up to two hours, so that an hour and a bit is not rounded up to two.
  if (seconds < std::int64_t{2} * 3600) {
    return plural((seconds + 59) / 60, "minute");
  }
  return plural(seconds / 3600 + (seconds % 3600 != 0 ? 1 : 0), "hour");
}

}  // namespace authfcgi::domain
