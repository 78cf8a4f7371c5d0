#include "storage/mysql_session_store.h"

#include <memory>
#include <string>

#include "storage/cppconn.h"
#include "storage/user_row_bound.h"
#include "util/strings.h"

namespace authfcgi::storage {

void MysqlSessionStore::create(std::string_view sid_hash, domain::UserId user_id,
                               std::int64_t expires_at) {
  connection_.with_statement(
      "INSERT INTO sessions (sid_hash, user_id, expires_at) VALUES (?, ?, ?)",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(sid_hash));
        statement.setInt64(2, user_id);
        statement.setInt64(3, expires_at);
        statement.executeUpdate();
      });
}

std::optional<domain::CurrentUser> MysqlSessionStore::find_user(std::string_view sid_hash,
                                                                std::int64_t now) {
  std::optional<domain::CurrentUser> user;
  // One round trip per request: the row and its user together, so a deleted user, a deleted
  // row (logout) or an expired row all read as "no user".
  connection_.with_statement(
      "SELECT u.id, u.email, u.username, u.group_list, u.confirmed FROM sessions s "
      "JOIN users u ON u.id = s.user_id WHERE s.sid_hash = ? AND s.expires_at > ?",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(sid_hash));
        statement.setInt64(2, now);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        if (rows->next()) {
          domain::CurrentUser found;
          found.id = rows->getInt64(1);
          found.email = rows->getString(2);
          found.username = rows->getString(3);
          // Group names hold no comma (domain::is_valid_group_name).
          const std::string groups = rows->getString(4);
          for (const std::string_view group : util::split(groups, ',')) {
            if (!group.empty()) {
              found.groups.emplace_back(group);
            }
          }
          found.email_confirmed = rows->getBoolean(5);
          user = std::move(found);
        }
      });
  return user;
}

void MysqlSessionStore::remove(std::string_view sid_hash) {
  connection_.with_statement("DELETE FROM sessions WHERE sid_hash = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(sid_hash));
                               statement.executeUpdate();
                             });
}

void MysqlSessionStore::remove_for_user(domain::UserId user_id) {
  connection_.with_statement("DELETE FROM sessions WHERE user_id = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, user_id);
                               statement.executeUpdate();
                             });
}

void MysqlSessionStore::trim_for_user(domain::UserId user_id, std::size_t keep, std::int64_t now) {
  delete_expired(connection_, "sessions", user_id, now);
  keep_highest_ranked(connection_, "sessions", "TRUE", "seq", user_id, keep);
}

std::size_t MysqlSessionStore::prune(std::int64_t now, std::size_t max_rows) {
  return delete_expired_rows(connection_, "sessions", now, max_rows);
}

}  // namespace authfcgi::storage
