#include "storage/mysql_account_token_store.h"

#include <memory>
#include <string>

#include "storage/batch_delete.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {

void MysqlAccountTokenStore::add(std::string_view digest, const domain::AccountToken& token) {
  connection_.with_statement(
      "INSERT INTO account_tokens (token_digest, user_id, purpose, new_email, expires_at, "
      "password_digest) VALUES (?, ?, ?, ?, ?, ?)",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(digest));
        statement.setInt64(2, token.user_id);
        statement.setInt(3, static_cast<int>(token.purpose));
        if (token.new_email.empty()) {
          statement.setNull(4, sql::DataType::VARCHAR);
        } else {
          statement.setString(4, token.new_email);
        }
        statement.setInt64(5, token.expires_at);
        if (token.password_digest.empty()) {
          statement.setNull(6, sql::DataType::CHAR);
        } else {
          statement.setString(6, token.password_digest);
        }
        statement.executeUpdate();
      });
}

std::optional<domain::AccountToken> MysqlAccountTokenStore::find(std::string_view digest) {
  std::optional<domain::AccountToken> token;
  connection_.with_statement(
      "SELECT user_id, purpose, COALESCE(new_email, ''), expires_at, "
      "COALESCE(password_digest, '') FROM account_tokens "
      "WHERE token_digest = ?",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, std::string(digest));
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        if (rows->next()) {
          domain::AccountToken found;
          found.user_id = rows->getInt64(1);
          found.purpose = static_cast<domain::TokenPurpose>(rows->getInt(2));
          found.new_email = rows->getString(3);
          found.expires_at = rows->getInt64(4);
          found.password_digest = rows->getString(5);
          token = std::move(found);
        }
      });
  return token;
}

bool MysqlAccountTokenStore::take(std::string_view digest) {
  int deleted = 0;
  connection_.with_statement("DELETE FROM account_tokens WHERE token_digest = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setString(1, std::string(digest));
                               deleted = statement.executeUpdate();
                             });
  return deleted == 1;
}

void MysqlAccountTokenStore::remove_for_user(domain::UserId user_id, domain::TokenPurpose purpose) {
  connection_.with_statement("DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?",
                             [&](sql::PreparedStatement& statement) {
                               statement.setInt64(1, user_id);
                               statement.setInt(2, static_cast<int>(purpose));
                               statement.executeUpdate();
                             });
}

std::size_t MysqlAccountTokenStore::prune(std::int64_t now, std::size_t max_rows) {
  return delete_matching(connection_, "account_tokens", "token_digest", KeyType::Text,
                         "expires_at <= ?", now, max_rows);
}

}  // namespace authfcgi::storage
