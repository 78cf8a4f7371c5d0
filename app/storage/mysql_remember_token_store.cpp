#include "storage/mysql_remember_token_store.h"

#include <memory>
#include <string>

#include "storage/cppconn.h"
#include "storage/user_row_bound.h"

namespace authfcgi::storage {

void MysqlRememberTokenStore::insert(const domain::RememberTokenRecord& record) {
  connection_.with_statement(
      "INSERT INTO remember_tokens (selector, validator_hash, user_id, expires_at, issued_at) "
      "VALUES (?, ?, ?, ?, ?)",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, record.selector);
        statement.setString(2, record.validator_hash);
        statement.setInt64(3, record.user_id);
        statement.setInt64(4, record.expires_at);
        statement.setInt64(5, record.issued_at);
        statement.executeUpdate();
      });
}

std::optional<domain::RememberTokenRecord> MysqlRememberTokenStore::find(
    std::string_view selector) {
  std::optional<domain::RememberTokenRecord> record;
  // Expiry is the caller's decision (it has the clock); the row is returned as stored.
  connection_.with_statement(
      "SELECT selector, validator_hash, user_id, expires_at, used_at, issued_at "
      "FROM remember_tokens WHERE selector = ?",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(selector));
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        if (rows->next()) {
          domain::RememberTokenRecord found;
          found.selector = rows->getString(1);
          found.validator_hash = rows->getString(2);
          found.user_id = rows->getInt64(3);
          found.expires_at = rows->getInt64(4);
          found.used_at = rows->getInt64(5);
          found.issued_at = rows->getInt64(6);
          record = std::move(found);
        }
      });
  return record;
}

bool MysqlRememberTokenStore::mark_used(std::string_view selector, std::int64_t now) {
  bool changed = false;
  connection_.with_statement(
      "UPDATE remember_tokens SET used_at = ? WHERE selector = ? AND used_at = 0",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, now);
        statement.setString(2, std::string(selector));
        changed = statement.executeUpdate() == 1;
      });
  return changed;
}

void MysqlRememberTokenStore::remove(std::string_view selector) {
  connection_.with_statement("DELETE FROM remember_tokens WHERE selector = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(selector));
                               statement.executeUpdate();
                             });
}

void MysqlRememberTokenStore::remove_for_user(domain::UserId user_id) {
  connection_.with_statement("DELETE FROM remember_tokens WHERE user_id = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, user_id);
                               statement.executeUpdate();
                             });
}

bool MysqlRememberTokenStore::remove_unused(std::string_view selector) {
  bool removed = false;
  connection_.with_statement("DELETE FROM remember_tokens WHERE selector = ? AND used_at = 0",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(selector));
                               removed = statement.executeUpdate() == 1;
                             });
  return removed;
}

void MysqlRememberTokenStore::trim_for_user(domain::UserId user_id, std::size_t keep,
                                            std::int64_t now) {
  delete_expired(connection_, "remember_tokens", user_id, now);
  keep_highest_ranked(connection_, "remember_tokens", "used_at = 0", "seq", user_id, keep);
  // A used token that lived long may have been copied, and its return is the theft signal;
  // one exchanged moments after its issue (a restore loop) could hardly have been.
  keep_highest_ranked(connection_, "remember_tokens", "used_at <> 0", "used_at - issued_at",
                      user_id, keep);
}

std::size_t MysqlRememberTokenStore::prune(std::int64_t now, std::size_t max_rows) {
  return delete_expired_rows(connection_, "remember_tokens", now, max_rows);
}

}  // namespace authfcgi::storage
