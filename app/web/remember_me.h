#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "domain/random_source.h"
#include "domain/remember_token_store.h"
#include "domain/user.h"

namespace authfcgi::web {

enum class RememberCheck {
  Valid,       // log the user in (the token is now used; issue a new one)
  Invalid,     // unknown, expired or forged: ignore it and clear the cookie
  Superseded,  // just exchanged by a parallel request of the same browser: ignore it, and
               // leave the cookie alone (that request's response carries the new one)
  Reused,      // a token used earlier came back: someone copied it; revoke every login
};

struct RememberResult {
  RememberCheck check = RememberCheck::Invalid;
  domain::UserId user_id = 0;  // for Valid and Reused
};

// "Remember me" tokens: the cookie holds "<selector>.<validator>"; the database holds the
// selector and an HMAC (remember key) of the validator, so a stolen table cannot be replayed.
// One instance per worker thread.
class RememberMe {
 public:
  RememberMe(domain::RememberTokenStore& store, const crypto::KeyRing& keys,
             const domain::RandomSource& random, std::int64_t max_age_seconds);

  // Stores a new token for user_id and returns the cookie value.
  [[nodiscard]] std::string issue(domain::UserId user_id, std::int64_t now);
  // Checks a token and, when valid, marks it used: tokens rotate on use, so the caller that
  // logs the user in issues a fresh one. A used token is kept until it expires so that its
  // return can be recognised (Reused); within a short grace period after its use it is only
  // Superseded, because a browser may send several requests with the old cookie at once.
  [[nodiscard]] RememberResult consume(std::string_view cookie_value, std::int64_t now);
  // Deletes the token named by this cookie (logout); unknown or malformed values are ignored.
  void revoke(std::string_view cookie_value);

  // Set-Cookie values for a new token, and for deleting the browser's token.
  [[nodiscard]] std::string cookie_header(std::string_view cookie_value, bool secure) const;
  [[nodiscard]] std::string clear_cookie_header(bool secure) const;

 private:
  [[nodiscard]] std::string validator_hash(const crypto::Key& key, std::string_view selector,
                                           std::string_view validator) const;
  [[nodiscard]] bool validator_matches(const domain::RememberTokenRecord& record,
                                       std::string_view selector, std::string_view validator) const;

  domain::RememberTokenStore& store_;
  const crypto::KeyRing& keys_;
  const domain::RandomSource& random_;
  std::int64_t max_age_seconds_;
};

}  // namespace authfcgi::web
