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
  // The counters of both keys of one login attempt, read together; {0, 0} for a key with none.
  [[nodiscard]] virtual ThrottleCounters get(std::string_view account_key,
                                             std::string_view address_key) = 0;
  // Atomically counts one failure at `now` (no lost update between concurrent workers) and
  // returns the key's counters right after it, this failure included. A count whose last
  // failure is older than forget_after starts over at 1.
  virtual ThrottleState record_failure(std::string_view key, std::int64_t now,
                                       std::int64_t forget_after_seconds) = 0;
  // Forgets the key's failures (after a successful login).
  virtual void reset(std::string_view key) = 0;
};

}  // namespace authfcgi::domain
