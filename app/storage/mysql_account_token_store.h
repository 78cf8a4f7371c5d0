#pragma once

#include "domain/account_tokens.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// domain::AccountTokenStore on the table account_tokens (sql/006_accounts.sql).
class MysqlAccountTokenStore final : public domain::AccountTokenStore {
 public:
  explicit MysqlAccountTokenStore(MysqlConnection& connection) : connection_(connection) {}

  void add(std::string_view digest, const domain::AccountToken& token) override;
  std::optional<domain::AccountToken> find(std::string_view digest) override;
  bool take(std::string_view digest) override;
  void remove_for_user(domain::UserId user_id, domain::TokenPurpose purpose) override;
  std::size_t prune(std::int64_t now, std::size_t max_rows) override;

 private:
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
