#include "storage/mysql_user_repository.h"

#include <algorithm>
#include <memory>
#include <string>

#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr const char* kUserColumns =
    "SELECT id, email, username, password_hash, confirmed FROM users ";

domain::User read_user(const sql::ResultSet& row) {
  domain::User user;
  user.id = row.getInt64(1);
  user.email = row.getString(2);
  user.username = row.getString(3);
  user.password_hash = row.getString(4);
  user.confirmed = row.getBoolean(5);
  return user;
}

std::optional<domain::User> first_user(sql::PreparedStatement& statement) {
  const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
  if (!rows->next()) {
    return std::nullopt;
  }
  return read_user(*rows);
}

}  // namespace

std::optional<domain::User> MysqlUserRepository::find_by_email(std::string_view email) {
  std::optional<domain::User> user;
  connection_.with_statement(std::string(kUserColumns) + "WHERE email = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(email));
                               user = first_user(statement);
                             });
  return user;
}

std::optional<domain::User> MysqlUserRepository::find_by_id(domain::UserId id) {
  std::optional<domain::User> user;
  connection_.with_statement(std::string(kUserColumns) + "WHERE id = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, id);
                               user = first_user(statement);
                             });
  return user;
}

bool MysqlUserRepository::update_password_hash(domain::UserId id, std::string_view password_hash) {
  int changed = 0;
  // A row whose hash is already this value still exists: compare against the id alone, not
  // against the affected-row count of an UPDATE that changed nothing.
  connection_.with_statement("UPDATE users SET password_hash = ? WHERE id = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(password_hash));
                               statement.setInt64(2, id);
                               changed = statement.executeUpdate();
                             });
  if (changed > 0) {
    return true;
  }
  return find_by_id(id).has_value();
}

bool MysqlUserRepository::replace_password_hash(domain::UserId id, std::string_view expected_hash,
                                                std::string_view new_hash) {
  int changed = 0;
  // One statement: the row lock makes the comparison and the write atomic against a
  // concurrent `authctl user passwd`.
  connection_.with_statement(
      "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(new_hash));
        statement.setInt64(2, id);
        statement.setString(3, std::string(expected_hash));
        changed = statement.executeUpdate();
      });
  return changed > 0;
}

domain::UserId MysqlUserRepository::add(std::string_view email, std::string_view username,
                                        std::string_view password_hash) {
  return insert(email, username, password_hash, true);
}

domain::UserId MysqlUserRepository::add_unconfirmed(std::string_view email,
                                                    std::string_view username,
                                                    std::string_view password_hash) {
  return insert(email, username, password_hash, false);
}

bool MysqlUserRepository::confirm(domain::UserId id) {
  int changed = 0;
  connection_.with_statement("UPDATE users SET confirmed = 1 WHERE id = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, id);
                               changed = statement.executeUpdate();
                             });
  return changed > 0 || find_by_id(id).has_value();
}

bool MysqlUserRepository::change_email(domain::UserId id, std::string_view email) {
  int changed = 0;
  connection_.with_statement("UPDATE users SET email = ?, confirmed = 1 WHERE id = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(email));
                               statement.setInt64(2, id);
                               changed = statement.executeUpdate();
                             });
  return changed > 0 || find_by_id(id).has_value();
}

void MysqlUserRepository::lock(domain::UserId id) {
  connection_.with_statement("SELECT id FROM users WHERE id = ? FOR UPDATE",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, id);
                               const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                             });
}

bool MysqlUserRepository::username_taken(std::string_view username) {
  bool taken = false;
  connection_.with_statement("SELECT 1 FROM users WHERE username = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(username));
                               const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                               taken = rows->next();
                             });
  return taken;
}

domain::UserId MysqlUserRepository::insert(std::string_view email, std::string_view username,
                                           std::string_view password_hash, bool confirmed) {
  connection_.with_statement(
      "INSERT INTO users (email, username, password_hash, confirmed) VALUES (?, ?, ?, ?)",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(email));
        statement.setString(2, std::string(username));
        statement.setString(3, std::string(password_hash));
        statement.setBoolean(4, confirmed);
        statement.executeUpdate();
      });
  // The id by the unique email, not LAST_INSERT_ID(): that is per session, and a connection
  // lost after the INSERT would make a created user look like a failure.
  domain::UserId id = 0;
  connection_.with_statement("SELECT id FROM users WHERE email = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(email));
                               const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                               if (rows->next()) {
                                 id = rows->getInt64(1);
                               }
                             });
  return id;
}

std::vector<domain::User> MysqlUserRepository::list() {
  std::vector<domain::User> users;
  connection_.with_statement(std::string(kUserColumns) + "ORDER BY id",
                             [&](sql::PreparedStatement& statement) {
                               const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                               while (rows->next()) {
                                 users.push_back(read_user(*rows));
                               }
                             });
  // One more statement for every user's groups, rather than one per user.
  connection_.with_statement(
      "SELECT user_id, group_name FROM user_groups ORDER BY user_id, group_name",
      [&](sql::PreparedStatement& statement) {
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        while (rows->next()) {
          const domain::UserId id = rows->getInt64(1);
          // users is ordered by id (ORDER BY id above).
          const auto user = std::lower_bound(
              users.begin(), users.end(), id,
              [](const domain::User& u, domain::UserId wanted) { return u.id < wanted; });
          if (user != users.end() && user->id == id) {
            user->groups.emplace_back(rows->getString(2));
          }
        }
      });
  return users;
}

std::vector<std::string> MysqlUserRepository::groups_of(domain::UserId id) {
  std::vector<std::string> groups;
  connection_.with_statement(
      "SELECT group_name FROM user_groups WHERE user_id = ? ORDER BY group_name",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, id);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        while (rows->next()) {
          groups.emplace_back(rows->getString(1));
        }
      });
  return groups;
}

bool MysqlUserRepository::add_to_group(domain::UserId id, std::string_view group) {
  int added = 0;
  MysqlConnection::Transaction transaction(connection_);
  // INSERT ... SELECT: no row for a user that does not exist (and no foreign-key error).
  connection_.with_statement(
      "INSERT IGNORE INTO user_groups (user_id, group_name) SELECT id, ? FROM users WHERE id = ?",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(group));
        statement.setInt64(2, id);
        added = statement.executeUpdate();
      });
  if (added > 0) {
    refresh_group_list(id);
  }
  transaction.commit();
  return added > 0 || find_by_id(id).has_value();
}

bool MysqlUserRepository::remove_from_group(domain::UserId id, std::string_view group) {
  int removed = 0;
  MysqlConnection::Transaction transaction(connection_);
  connection_.with_statement("DELETE FROM user_groups WHERE user_id = ? AND group_name = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, id);
                               statement.setString(2, std::string(group));
                               removed = statement.executeUpdate();
                             });
  if (removed > 0) {
    refresh_group_list(id);
  }
  transaction.commit();
  return removed > 0;
}

void MysqlUserRepository::refresh_group_list(domain::UserId id) {
  connection_.with_statement(
      "UPDATE users SET group_list = COALESCE((SELECT GROUP_CONCAT(group_name ORDER BY "
      "group_name SEPARATOR ',') FROM user_groups WHERE user_id = ?), '') WHERE id = ?",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, id);
        statement.setInt64(2, id);
        statement.executeUpdate();
      });
}

bool MysqlUserRepository::remove(domain::UserId id) {
  int deleted = 0;
  // Sessions and remember tokens go with the user through ON DELETE CASCADE.
  connection_.with_statement("DELETE FROM users WHERE id = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, id);
                               deleted = statement.executeUpdate();
                             });
  return deleted > 0;
}

}  // namespace authfcgi::storage
