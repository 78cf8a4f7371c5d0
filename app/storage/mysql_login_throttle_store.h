#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "domain/login_throttle_store.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// The login_failures table (sql/004_login_failures.sql): one row per key and counted failure
// or attempt in flight. admit() runs in one short transaction that first locks the keys' rows
// of login_throttle_locks, sorted, so concurrent admissions on a key run one after the other,
// on every worker and host that shares the database. Everything compares bytes.
class MysqlLoginThrottleStore final : public domain::LoginThrottleStore {
 public:
  explicit MysqlLoginThrottleStore(MysqlConnection& connection) : connection_(connection) {}

  [[nodiscard]] std::vector<domain::KeyHistory> read(std::span<const domain::ThrottleKey> keys,
                                                     std::int64_t now) override;
  domain::AdmitOutcome admit(std::span<const domain::ThrottleKey> keys, std::string_view attempt,
                             std::int64_t now, std::int64_t lease_until,
                             const Decide& decide) override;
  void record_failure(std::string_view attempt, std::int64_t now,
                      std::span<const domain::FailureExpiry> expiries) override;
  void forget(std::string_view attempt, std::span<const domain::ThrottleKey> reset) override;
  [[nodiscard]] std::vector<domain::ThrottleListing> list(std::int64_t now) override;
  std::size_t clear(const domain::ThrottleFilter& filter) override;
  std::size_t prune(std::int64_t now, std::size_t max_rows) override;

 private:
  std::vector<domain::KeyHistory> histories(const std::vector<std::string>& texts,
                                            std::int64_t now);
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
