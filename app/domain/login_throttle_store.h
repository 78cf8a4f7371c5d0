#pragma once

#include <cstdint>
#include <string_view>

#include "domain/throttle_policy.h"

namespace authfcgi::domain {

// Failed-login counters shared by every worker and host (a database table). Keys are
// "account:<email>" or "address:<ip>". One instance per thread. Every method throws
// StorageUnavailable when the database is down.
class LoginThrottleStore {
 public:
  virtual ~LoginThrottleStore() = default;
  // The counters for key; {0, 0} when none.
  [[nodiscard]] virtual ThrottleState get(std::string_view key) = 0;
  // Atomically counts one failure at `now` (no lost update between concurrent workers). A
  // count whose last failure is older than forget_after starts over at 1.
  virtual void record_failure(std::string_view key, std::int64_t now,
                              std::int64_t forget_after_seconds) = 0;
  // Forgets the key's failures (after a successful login).
  virtual void reset(std::string_view key) = 0;
};

}  // namespace authfcgi::domain
