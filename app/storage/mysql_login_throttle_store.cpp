#include "storage/mysql_login_throttle_store.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr std::int64_t kMinSeconds = std::numeric_limits<std::int64_t>::min();

std::string checked_key(std::string_view key) {
  if (key.size() > MysqlLoginThrottleStore::kMaxKeyBytes) {
    throw std::invalid_argument("throttle key longer than " +
                                std::to_string(MysqlLoginThrottleStore::kMaxKeyBytes) + " bytes");
  }
  return std::string(key);
}

// now - forget_after without overflow: a last failure before this instant is forgotten, the
// same rule decide_throttle applies (which also reads a negative window as zero).
std::int64_t forget_before(std::int64_t now, std::int64_t forget_after_seconds) {
  const std::int64_t window = std::max<std::int64_t>(forget_after_seconds, 0);
  if (now < kMinSeconds + window) {
    return kMinSeconds;
  }
  return now - window;
}

}  // namespace

domain::ThrottleState MysqlLoginThrottleStore::get(std::string_view key) {
  const std::string checked = checked_key(key);
  domain::ThrottleState state;
  connection_.with_statement(
      "SELECT failures, last_failure FROM login_throttle WHERE throttle_key = ?",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, checked);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        if (rows->next()) {
          state.failures = rows->getInt64(1);
          state.last_failure = rows->getInt64(2);
        }
      });
  return state;
}

void MysqlLoginThrottleStore::record_failure(std::string_view key, std::int64_t now,
                                             std::int64_t forget_after_seconds) {
  const std::string checked = checked_key(key);
  // One statement, so the row lock InnoDB takes for it serialises concurrent workers and no
  // increment is lost. MariaDB applies the assignments left to right, each seeing the columns
  // as already updated: failures must be computed while last_failure still holds the previous
  // failure. GREATEST keeps last_failure from moving back when a worker with an older `now`
  // commits second. LEAST keeps the INT column from overflowing into an error under an endless
  // attack.
  connection_.with_statement(
      "INSERT INTO login_throttle (throttle_key, failures, last_failure) VALUES (?, 1, ?) "
      "ON DUPLICATE KEY UPDATE "
      "failures = IF(last_failure < ?, 1, LEAST(failures, 2147483646) + 1), "
      "last_failure = GREATEST(last_failure, VALUES(last_failure))",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, checked);
        statement.setInt64(2, now);
        statement.setInt64(3, forget_before(now, forget_after_seconds));
        statement.executeUpdate();
      });
}

void MysqlLoginThrottleStore::reset(std::string_view key) {
  const std::string checked = checked_key(key);
  connection_.with_statement("DELETE FROM login_throttle WHERE throttle_key = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, checked);
                               statement.executeUpdate();
                             });
}

}  // namespace authfcgi::storage
