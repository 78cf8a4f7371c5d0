#pragma once

#include "domain/user_repository.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

class MysqlUserRepository final : public domain::UserRepository {
 public:
  explicit MysqlUserRepository(MysqlConnection& connection) : connection_(connection) {}

  std::optional<domain::User> find_by_email(std::string_view email) override;
  std::optional<domain::User> find_by_id(domain::UserId id) override;
  bool update_password_hash(domain::UserId id, std::string_view password_hash) override;
  bool replace_password_hash(domain::UserId id, std::string_view expected_hash,
                             std::string_view new_hash) override;
  domain::UserId add_unconfirmed(std::string_view email, std::string_view username,
                                 std::string_view password_hash) override;
  bool confirm(domain::UserId id) override;
  bool change_email(domain::UserId id, std::string_view email) override;
  bool username_taken(std::string_view username) override;
  void lock(domain::UserId id) override;
  domain::UserId add(std::string_view email, std::string_view username,
                     std::string_view password_hash) override;
  std::vector<domain::User> list() override;
  std::vector<std::string> groups_of(domain::UserId id) override;
  bool add_to_group(domain::UserId id, std::string_view group) override;
  bool remove_from_group(domain::UserId id, std::string_view group) override;
  bool remove(domain::UserId id) override;

 private:
  domain::UserId insert(std::string_view email, std::string_view username,
                        std::string_view password_hash, bool confirmed);
  // users.group_list from user_groups, inside the transaction that changed them.
  void refresh_group_list(domain::UserId id);
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
