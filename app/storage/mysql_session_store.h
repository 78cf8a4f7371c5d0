#pragma once

#include "domain/session_store.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

class MysqlSessionStore final : public domain::SessionStore {
 public:
  explicit MysqlSessionStore(MysqlConnection& connection) : connection_(connection) {}

  void create(std::string_view sid_hash, domain::UserId user_id, std::int64_t expires_at) override;
  std::optional<domain::CurrentUser> find_user(std::string_view sid_hash,
                                               std::int64_t now) override;
  void remove(std::string_view sid_hash) override;
  void remove_for_user(domain::UserId user_id) override;
  void trim_for_user(domain::UserId user_id, std::size_t keep, std::int64_t now) override;
  std::size_t prune(std::int64_t now, std::size_t max_rows) override;

 private:
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
