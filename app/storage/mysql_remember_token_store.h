#pragma once

#include "domain/remember_token_store.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

class MysqlRememberTokenStore final : public domain::RememberTokenStore {
 public:
  explicit MysqlRememberTokenStore(MysqlConnection& connection) : connection_(connection) {}

  void insert(const domain::RememberTokenRecord& record) override;
  std::optional<domain::RememberTokenRecord> find(std::string_view selector) override;
  bool mark_used(std::string_view selector, std::int64_t now) override;
  void remove(std::string_view selector) override;
  bool remove_unused(std::string_view selector) override;
  void remove_for_user(domain::UserId user_id) override;
  void trim_for_user(domain::UserId user_id, std::size_t keep, std::int64_t now) override;
  std::size_t prune(std::int64_t now, std::size_t max_rows) override;

 private:
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
