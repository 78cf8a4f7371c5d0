#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "domain/random_source.h"
#include "domain/session_state.h"
#include "domain/session_store.h"
#include "domain/user.h"

namespace authfcgi::web {

// Starts, loads and ends sessions: the signed cookie's state plus, while logged in, the
// server-side row keyed by a hash of the session id. One instance per worker thread.
class SessionManager {
 public:
  SessionManager(domain::SessionStore& store, const domain::RandomSource& random,
                 config::SessionConfig config);

  // Gives an anonymous visitor a session id and CSRF secret when it has none yet.
  void ensure_started(domain::SessionState& session, std::int64_t now) const;
  // The logged-in user of this session, from its row; nullopt when the row is gone
  // (logout, log out everywhere, password change, expiry) or the user was deleted.
  [[nodiscard]] std::optional<domain::User> load_user(const domain::SessionState& session,
                                                      std::int64_t now);
  // A fresh session for user_id (new id and CSRF secret: no fixation) with its row; the old
  // session's row, if any, is removed. Pending flashes are kept.
  void log_in(domain::SessionState& session, domain::UserId user_id, std::int64_t now);
  // Removes the row and gives the browser a fresh anonymous session.
  void log_out(domain::SessionState& session, std::int64_t now);

 private:
  void restart(domain::SessionState& session, std::int64_t now) const;

  domain::SessionStore& store_;
  const domain::RandomSource& random_;
  config::SessionConfig config_;
};

}  // namespace authfcgi::web
