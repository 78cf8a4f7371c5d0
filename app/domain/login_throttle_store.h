#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/throttle_policy.h"

namespace authfcgi::domain {

// A failure's key and the end of its window.
struct FailureExpiry {
  ThrottleKey key;
  std::int64_t expires_at = 0;
};

// One key with counted failures, for `authctl throttle list`.
struct ThrottleListing {
  ThrottleKey key;
  KeyHistory history;
};

// What `authctl throttle clear` clears: every key naming the email (pair, account, device),
// every key naming the address (pair, address), or everything.
struct ThrottleFilter {
  std::optional<std::string> email;
  std::optional<std::string> address;
};

enum class AdmitOutcome { Decided, Busy };

// Failed-login counters shared by every worker and host (a database table). One instance per
// thread. Every method throws StorageUnavailable when the database is down.
class LoginThrottleStore {
 public:
  virtual ~LoginThrottleStore() = default;

  // Given the histories of `keys` (in the same order), returns the keys (by index) the attempt
  // is marked pending on, each with the end of its window should it fail; empty when it is not
  // admitted.
  struct PendingMark {
    std::size_t key = 0;
    std::int64_t expires_at = 0;
  };
  using Decide = std::function<std::vector<PendingMark>(std::span<const KeyHistory>)>;

  // The keys' histories at `now`, read without locking or writing anything: enough to refuse
  // an attempt (failures only ever age out), never to admit one.
  [[nodiscard]] virtual std::vector<KeyHistory> read(std::span<const ThrottleKey> keys,
                                                     std::int64_t now) = 0;
  // Reads the keys' histories and calls `decide` while no other admit on any of these keys can
  // run, then marks `attempt` pending on the keys decide chose. A pending mark counts as an
  // attempt in flight until `lease_until`, and as a failure after that unless it was resolved
  // (a worker that died, or could not record the outcome, loses no failure). Busy: the keys
  // could not be locked in time; decide was not called.
  virtual AdmitOutcome admit(std::span<const ThrottleKey> keys, std::string_view attempt,
                             std::int64_t now, std::int64_t lease_until, const Decide& decide) = 0;
  // The attempt's password was wrong: each pending mark becomes a failure at `now` that counts
  // until its key's expires_at.
  virtual void record_failure(std::string_view attempt, std::int64_t now,
                              std::span<const FailureExpiry> expiries) = 0;
  // Drops the attempt's pending marks and the counted failures of `reset` (a success resets
  // the pair and the device marker; an abandoned attempt resets nothing).
  virtual void forget(std::string_view attempt, std::span<const ThrottleKey> reset) = 0;

  // Every key with failures that still count at `now`, for operators.
  [[nodiscard]] virtual std::vector<ThrottleListing> list(std::int64_t now) = 0;
  // Deletes the failures and pending marks of the keys the filter names; returns how many
  // keys had any.
  virtual std::size_t clear(const ThrottleFilter& filter) = 0;
  // Deletes up to max_rows rows that no longer count at `now`; returns how many it deleted.
  virtual std::size_t prune(std::int64_t now, std::size_t max_rows) = 0;
};

}  // namespace authfcgi::domain
