#pragma once

#include <cstdint>
#include <optional>

#include "domain/auth_settings.h"
#include "domain/session_state.h"
#include "domain/session_store.h"
#include "domain/token_crypto.h"
#include "domain/user.h"

namespace authfcgi::domain {

// Starts, loads and ends sessions: the signed cookie's state plus, while logged in, the
// server-side row keyed by a digest of the session id. One instance per worker thread.
class SessionLifecycle {
 public:
  SessionLifecycle(SessionStore& store, const TokenCrypto& crypto, SessionSettings settings);

  // Gives an anonymous visitor a session id and CSRF secret when it has none yet.
  void ensure_started(SessionState& session, std::int64_t now) const;
  // The logged-in user of this session, from its row; nullopt when the row is gone
  // (logout, log out everywhere, password change, expiry, eviction) or the user was deleted.
  [[nodiscard]] std::optional<CurrentUser> load_user(const SessionState& session, std::int64_t now);
  // A fresh session for user_id (new id and CSRF secret: no fixation) with its row; the old
  // session's row, if any, is removed, and the user's oldest rows beyond the bound end. Pending
  // flashes are kept.
  void log_in(SessionState& session, UserId user_id, std::int64_t now);
  // Removes the row and gives the browser a fresh anonymous session (flashes kept).
  void log_out(SessionState& session, std::int64_t now);

 private:
  void restart(SessionState& session, std::int64_t now) const;

  SessionStore& store_;
  const TokenCrypto& crypto_;
  SessionSettings settings_;
};

}  // namespace authfcgi::domain
