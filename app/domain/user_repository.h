#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/user.h"

namespace authfcgi::domain {

// Accounts. One instance per thread (it owns no connection of its own but uses one that is
// not thread-safe). Every method throws StorageUnavailable when the database is unreachable.
class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // email must already be lower-case; nullopt when no such account.
  [[nodiscard]] virtual std::optional<User> find_by_email(std::string_view email) = 0;
  [[nodiscard]] virtual std::optional<User> find_by_id(UserId id) = 0;
  // Returns false when the user does not exist.
  virtual bool update_password_hash(UserId id, std::string_view password_hash) = 0;
  // Compare-and-swap: replaces the hash only while it is still expected_hash. Returns false when
  // it is not (the password was changed meanwhile) or the user does not exist.
  virtual bool replace_password_hash(UserId id, std::string_view expected_hash,
                                     std::string_view new_hash) = 0;
  // A confirmed account (authctl user add). Throws DuplicateKey when the email or the username
  // is taken. Returns the new id.
  virtual UserId add(std::string_view email, std::string_view username,
                     std::string_view password_hash) = 0;
  // The same for a registration: the account stays unconfirmed until confirm().
  virtual UserId add_unconfirmed(std::string_view email, std::string_view username,
                                 std::string_view password_hash) = 0;
  // Changes the address (and marks it confirmed: the link proved it). Throws DuplicateKey when
  // another account has it; false when the user does not exist.
  virtual bool change_email(UserId id, std::string_view email) = 0;
  // Marks the account confirmed (again: no harm). Returns false when the user does not exist.
  virtual bool confirm(UserId id) = 0;
  // Inside a transaction: holds the user's row until it ends, so that checks and writes about
  // one account (a mail throttle's count and the mail) run one at a time across processes.
  virtual void lock(UserId id) = 0;
  // Whether an account has this username (byte for byte).
  [[nodiscard]] virtual bool username_taken(std::string_view username) = 0;
  // Every user with its groups.
  [[nodiscard]] virtual std::vector<User> list() = 0;
  // The user's groups, sorted; empty for no groups or no such user.
  [[nodiscard]] virtual std::vector<std::string> groups_of(UserId id) = 0;
  // Returns false when the user does not exist; a group the user is in already is kept.
  virtual bool add_to_group(UserId id, std::string_view group) = 0;
  // Returns false when the user was not in the group.
  virtual bool remove_from_group(UserId id, std::string_view group) = 0;
  // Returns false when the user does not exist. Deleting a user deletes its sessions and tokens.
  virtual bool remove(UserId id) = 0;
};

}  // namespace authfcgi::domain
