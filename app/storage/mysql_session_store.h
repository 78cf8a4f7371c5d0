#pragma once

#include "domain/session_store.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

class MysqlSessionStore final : public domain::SessionStore {
 public:
  explicit MysqlSessionStore(MysqlConnection& connection) : connection_(connection) {}

  void create(std::string_view sid_hash, domain::UserId user_id, std::int64_t expires_at) override;
  std::optional<domain::User> find_user(std::string_view sid_hash, std::int64_t now) override;
  void remove(std::string_view sid_hash) override;
  void remove_for_user(domain::UserId user_id) override;

 private:
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
