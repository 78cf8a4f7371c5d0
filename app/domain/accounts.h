#pragma once

#include <string_view>

#include "domain/password_hasher.h"
#include "domain/remember_token_store.h"
#include "domain/session_store.h"
#include "domain/user.h"
#include "domain/user_repository.h"

namespace authfcgi::domain {

// Account changes with a policy, shared by the web app and authctl. One instance per thread.
class Accounts {
 public:
  Accounts(UserRepository& users, SessionStore& sessions, RememberTokenStore& remember_tokens,
           const PasswordHasher& hasher);

  // Ends every login of the user: all of its session rows and remember tokens. The only place
  // that does; a reused remember token, a password change and "log out everywhere" come here.
  void log_out_everywhere(UserId user_id);
  // Stores a hash of the new password and ends every login of the user: whoever knew the old
  // password may hold a session or a remember token. False when the user does not exist.
  [[nodiscard]] bool set_password(UserId user_id, std::string_view password);
  // The same with the hash already made (outside the caller's transaction: hashing takes a
  // while and must not hold its locks).
  [[nodiscard]] bool set_password_hash(UserId user_id, std::string_view password_hash);

 private:
  UserRepository& users_;
  SessionStore& sessions_;
  RememberTokenStore& remember_tokens_;
  const PasswordHasher& hasher_;
};

}  // namespace authfcgi::domain
