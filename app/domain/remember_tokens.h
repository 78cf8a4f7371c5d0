#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/remember_token_store.h"
#include "domain/token_crypto.h"
#include "domain/user.h"

namespace authfcgi::domain {

enum class RememberCheck {
  Valid,       // the browser holds this live token: it may be exchanged for a new one
  Invalid,     // unknown, expired or forged: ignore it and clear the cookie
  Superseded,  // just exchanged by a parallel request of the same browser: ignore it, and
               // leave the cookie alone (that request's response carries the new one)
  Reused,      // a token used earlier came back: someone copied it; revoke every login
};

struct RememberResult {
  RememberCheck check = RememberCheck::Invalid;
  UserId user_id = 0;    // for Valid, Superseded and Reused
  std::string selector;  // of a possessed token
};

// "Remember me" tokens: the cookie holds "<selector>.<validator>"; the store holds the selector
// and a keyed hash of the whole token, so a stolen table cannot be replayed. Nothing here
// deletes or changes a row unless the caller proved possession of its token (selector and
// validator): knowing a selector alone changes nothing. One instance per worker thread.
class RememberTokens {
 public:
  // How long after its use a token is merely ignored rather than taken as stolen: a browser
  // may send several requests with the old cookie at once.
  static constexpr std::int64_t kReuseGraceSeconds = 60;

  RememberTokens(RememberTokenStore& store, const TokenCrypto& crypto,
                 std::int64_t max_age_seconds);

  // Stores a new token for user_id and returns the cookie value.
  [[nodiscard]] std::string issue(UserId user_id, std::int64_t now);
  // Keeps the user's tokens within the bounds: expired ones go, and beyond 100 live ones the
  // oldest, beyond 100 used ones those that had been live the shortest time.
  void bound(UserId user_id, std::int64_t now);
  // What a cookie is worth: Valid for a live token the browser holds (selector and validator),
  // Superseded or Reused for a used one; deletes an expired one. Changes nothing else.
  [[nodiscard]] RememberResult check(std::string_view cookie_value, std::int64_t now);
  // Marks a Valid token used, now that its successor and session exist: tokens rotate on use.
  // False when a parallel request claimed it first. A used token is kept (see trim_for_user)
  // so that its return is recognised as Reused.
  [[nodiscard]] bool claim(const RememberResult& valid, std::int64_t now);
  // Deletes a token this core just issued and never sent (the exchange lost its race).
  void withdraw(std::string_view issued_cookie_value);
  // Gives a token up (logout, or a login that replaces it): a live token is deleted; a used
  // token is left as the theft signal, and one that returned after the grace period is Reused.
  [[nodiscard]] RememberResult give_up(std::string_view cookie_value, std::int64_t now);

 private:
  // The row of a well-formed token whose validator matches, or nullopt.
  [[nodiscard]] std::optional<RememberTokenRecord> possessed(std::string_view cookie_value);
  // Valid for a live row, else Invalid / Superseded / Reused; deletes an expired row.
  [[nodiscard]] RememberResult judge(const RememberTokenRecord& record, std::int64_t now);

  RememberTokenStore& store_;
  const TokenCrypto& crypto_;
  std::int64_t max_age_seconds_;
};

}  // namespace authfcgi::domain
