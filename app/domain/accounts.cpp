#include "domain/accounts.h"

namespace authfcgi::domain {

Accounts::Accounts(UserRepository& users, SessionStore& sessions,
                   RememberTokenStore& remember_tokens, const PasswordHasher& hasher)
    : users_(users), sessions_(sessions), remember_tokens_(remember_tokens), hasher_(hasher) {}

void Accounts::log_out_everywhere(UserId user_id) {
  // Tokens first: a browser restoring in between would otherwise get a new session from a
  // token that is about to go.
  remember_tokens_.remove_for_user(user_id);
  sessions_.remove_for_user(user_id);
}

bool Accounts::set_password(UserId user_id, std::string_view password) {
  return set_password_hash(user_id, hasher_.hash(password));
}

bool Accounts::set_password_hash(UserId user_id, std::string_view password_hash) {
  if (!users_.update_password_hash(user_id, password_hash)) {
    return false;
  }
  log_out_everywhere(user_id);
  return true;
}

}  // namespace authfcgi::domain
