#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace authfcgi::domain {

// Which counter a failed login is counted in (SPEC "Login throttling"):
// Pair     one account from one address (brute force), with a doubling back-off;
// Address  every account from one address over a day (credential stuffing);
// Account  one account from every address (distributed guessing);
// Device   one browser's device marker for one account (OWASP device cookies).
enum class ThrottleScope { Pair, Address, Account, Device };

[[nodiscard]] std::string_view scope_name(ThrottleScope scope);

// One counter. Fields a scope does not use stay empty.
struct ThrottleKey {
  ThrottleScope scope = ThrottleScope::Pair;
  std::string email;    // Pair, Account, Device (normalized, lower-case)
  std::string address;  // Pair, Address
  std::string device;   // Device: the marker's id

  // Unique per key and stable: stores index and lock a key by it. The parts are separated by
  // a byte no email, address or marker id holds.
  [[nodiscard]] std::string text() const;
  bool operator==(const ThrottleKey&) const = default;
};

// A key's state at one moment, as the store sums it up: its failures that still count (each
// counts until its window, which began when it happened, ends) and its attempts in flight.
struct KeyHistory {
  std::int64_t failures = 0;
  std::int64_t last_failure = 0;  // when the newest failure happened (failures > 0)
  std::int64_t first_expiry = 0;  // when the oldest failure stops counting (failures > 0)
  std::int64_t pending = 0;       // admitted attempts on this key whose password is being checked
};

// The pair's rule: max_failures within window, then a wait after each further failure that
// starts at base_delay and doubles up to max_delay.
struct BackoffLimits {
  std::int64_t max_failures = 5;
  std::int64_t base_delay_seconds = 60;
  std::int64_t max_delay_seconds = 900;
  std::int64_t window_seconds = 3600;
};

// The address's, the account's and a device marker's rule: at most max_failures within a
// sliding window; then wait until enough of them have aged out.
struct WindowLimits {
  std::int64_t max_failures = 0;
  std::int64_t window_seconds = 0;
};

// How many attempts a key lets through now; when none, how long until the next one.
struct TriesLeft {
  std::int64_t tries = 0;
  std::int64_t retry_after_seconds = 0;  // > 0 when tries == 0
};

// Pure. Values from storage may be anything (another host's clock, a hand-edited row): no
// result overflows or exceeds the configured waits. The window rule's wait is exact while a key
// holds at most max_failures failures, which is the rule (a refused attempt is not a failure);
// when it holds more (a limit lowered meanwhile, an extra try on another Galera node), the key
// is judged again when its oldest failure ages out.
[[nodiscard]] TriesLeft tries_left(const BackoffLimits& limits, const KeyHistory& history,
                                   std::int64_t now);
[[nodiscard]] TriesLeft tries_left(const WindowLimits& limits, const KeyHistory& history,
                                   std::int64_t now);

// The human wait for a 429 page, rounded up so it is never shorter than Retry-After:
// "1 second", "45 seconds", "3 minutes", "2 hours".
[[nodiscard]] std::string wait_text(std::int64_t seconds);

}  // namespace authfcgi::domain
