#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "domain/errors.h"
#include "domain/login_throttle_store.h"

namespace authfcgi::testing {

// The login_failures table in memory, with the store's contract: admit() decides and marks
// under one lock, so threads of a test see the same serialisation the database gives. Tests
// look at `rows`. `busy_admits` makes that many admits answer Busy first (a lock conflict);
// `unavailable` makes every call throw as a database outage does. Thread-safe.
class FakeLoginThrottleStore : public domain::LoginThrottleStore {
 public:
  struct Row {
    domain::ThrottleKey key;
    std::string attempt;
    bool pending = false;
    std::int64_t failed_at = 0;
    std::int64_t expires_at = 0;
    std::int64_t lease_until = 0;
  };

  std::vector<domain::KeyHistory> read(std::span<const domain::ThrottleKey> keys,
                                       std::int64_t now) override {
    const std::scoped_lock lock(mutex_);
    check();
    ++reads;
    std::vector<domain::KeyHistory> histories;
    for (const domain::ThrottleKey& key : keys) {
      histories.push_back(history_of(key, now));
    }
    return histories;
  }

  domain::AdmitOutcome admit(std::span<const domain::ThrottleKey> keys, std::string_view attempt,
                             std::int64_t now, std::int64_t lease_until,
                             const Decide& decide) override {
    const std::scoped_lock lock(mutex_);
    check();
    if (busy_admits > 0) {
      --busy_admits;
      return domain::AdmitOutcome::Busy;
    }
    ++admits;
    std::vector<domain::KeyHistory> histories;
    for (const domain::ThrottleKey& key : keys) {
      histories.push_back(history_of(key, now));
    }
    for (const PendingMark& mark : decide(histories)) {
      rows.push_back(
          Row{keys[mark.key], std::string(attempt), true, now, mark.expires_at, lease_until});
    }
    return domain::AdmitOutcome::Decided;
  }

  void record_failure(std::string_view attempt, std::int64_t now,
                      std::span<const domain::FailureExpiry> expiries) override {
    const std::scoped_lock lock(mutex_);
    check();
    for (Row& row : rows) {
      if (row.attempt != attempt) {
        continue;
      }
      row.pending = false;
      row.failed_at = now;
      for (const domain::FailureExpiry& expiry : expiries) {
        if (expiry.key == row.key) {
          row.expires_at = expiry.expires_at;
        }
      }
    }
  }

  void forget(std::string_view attempt, std::span<const domain::ThrottleKey> reset) override {
    const std::scoped_lock lock(mutex_);
    check();
    std::erase_if(rows, [&](const Row& row) {
      return row.attempt == attempt ||
             (!row.pending && std::find(reset.begin(), reset.end(), row.key) != reset.end());
    });
  }

  std::vector<domain::ThrottleListing> list(std::int64_t now) override {
    const std::scoped_lock lock(mutex_);
    check();
    std::vector<domain::ThrottleListing> listings;
    for (const Row& row : rows) {
      if (in_flight(row, now) || row.expires_at <= now) {
        continue;
      }
      const bool listed = std::any_of(
          listings.begin(), listings.end(),
          [&](const domain::ThrottleListing& listing) { return listing.key == row.key; });
      if (!listed) {
        listings.push_back({row.key, history_of(row.key, now)});
      }
    }
    return listings;
  }

  std::size_t clear(const domain::ThrottleFilter& filter) override {
    const std::scoped_lock lock(mutex_);
    check();
    std::set<std::string> keys;
    std::erase_if(rows, [&](const Row& row) {
      const bool match = (filter.email && row.key.email == *filter.email) ||
                         (filter.address && row.key.address == *filter.address) ||
                         (!filter.email && !filter.address);
      if (match) {
        keys.insert(row.key.text());
      }
      return match;
    });
    return keys.size();
  }

  std::size_t prune(std::int64_t now, std::size_t max_rows) override {
    const std::scoped_lock lock(mutex_);
    check();
    std::size_t deleted = 0;
    std::erase_if(rows, [&](const Row& row) {
      if (deleted < max_rows && row.expires_at <= now) {
        ++deleted;
        return true;
      }
      return false;
    });
    return deleted;
  }

  // Counted failures (not pending) of one key.
  [[nodiscard]] std::size_t failures_of(const domain::ThrottleKey& key) const {
    const std::scoped_lock lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        rows.begin(), rows.end(), [&](const Row& row) { return !row.pending && row.key == key; }));
  }

  std::vector<Row> rows;
  int busy_admits = 0;
  int admits = 0;
  int reads = 0;
  bool unavailable = false;

 private:
  static bool in_flight(const Row& row, std::int64_t now) {
    return row.pending && row.lease_until > now;
  }
  // What the database's aggregate gives for one key.
  domain::KeyHistory history_of(const domain::ThrottleKey& key, std::int64_t now) const {
    domain::KeyHistory history;
    for (const Row& row : rows) {
      if (!(row.key == key) || row.expires_at <= now) {
        continue;
      }
      if (in_flight(row, now)) {
        ++history.pending;
        continue;
      }
      history.last_failure =
          history.failures == 0 ? row.failed_at : std::max(history.last_failure, row.failed_at);
      history.first_expiry =
          history.failures == 0 ? row.expires_at : std::min(history.first_expiry, row.expires_at);
      ++history.failures;
    }
    return history;
  }
  void check() const {
    if (unavailable) {
      throw domain::StorageUnavailable("fake database down");
    }
  }
  mutable std::mutex mutex_;
};

}  // namespace authfcgi::testing
