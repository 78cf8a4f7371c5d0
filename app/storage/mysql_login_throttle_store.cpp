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

domain::ThrottleCounters MysqlLoginThrottleStore::get(std::string_view account_key,
                                                      std::string_view address_key) {
  const std::string account = checked_key(account_key);
  const std::string address = checked_key(address_key);
  domain::ThrottleCounters counters;
  // One round trip for both keys. The server tells which row is the account's, comparing with
  // the column's own collation (which ignores trailing spaces), so the match is the WHERE's.
  connection_.with_statement(
      "SELECT throttle_key = ?, failures, last_failure FROM login_throttle "
      "WHERE throttle_key IN (?, ?)",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, account);
        statement.setString(2, account);
        statement.setString(3, address);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        while (rows->next()) {
          const domain::ThrottleState state{rows->getInt64(2), rows->getInt64(3)};
          (rows->getInt(1) != 0 ? counters.account : counters.address) = state;
        }
      });
  return counters;
}

domain::ThrottleState MysqlLoginThrottleStore::record_failure(std::string_view key,
                                                              std::int64_t now,
                                                              std::int64_t forget_after_seconds) {
  const std::string checked = checked_key(key);
  domain::ThrottleState after;
  // One statement, so the row lock InnoDB takes for it serialises concurrent workers and no
  // increment is lost; RETURNING (MariaDB 10.5+) gives the row as this statement left it, so
  // each caller learns how many failures were counted before its own. MariaDB applies the
  // assignments left to right, each seeing the columns as already updated: failures must be
  // computed while last_failure still holds the previous failure. GREATEST keeps last_failure
  // from moving back when a worker with an older `now` commits second. LEAST keeps the INT
  // column from overflowing into an error under an endless attack.
  connection_.with_statement(
      "INSERT INTO login_throttle (throttle_key, failures, last_failure) VALUES (?, 1, ?) "
      "ON DUPLICATE KEY UPDATE "
      "failures = IF(last_failure < ?, 1, LEAST(failures, 2147483646) + 1), "
      "last_failure = GREATEST(last_failure, VALUES(last_failure)) "
      "RETURNING failures, last_failure",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, checked);
        statement.setInt64(2, now);
        statement.setInt64(3, forget_before(now, forget_after_seconds));
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        if (rows->next()) {
          after.failures = rows->getInt64(1);
          after.last_failure = rows->getInt64(2);
        }
      });
  return after;
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
