#include "domain/session_lifecycle.h"

#include <array>

namespace authfcgi::domain {
namespace {

constexpr std::size_t kSecretBytes = 32;

}  // namespace

SessionLifecycle::SessionLifecycle(SessionStore& store, const TokenCrypto& crypto,
                                   SessionSettings settings)
    : store_(store), crypto_(crypto), settings_(settings) {}

void SessionLifecycle::restart(SessionState& session, std::int64_t now) const {
  std::array<std::string, 2> secrets;
  crypto_.random_tokens(secrets, kSecretBytes);
  session.sid = std::move(secrets[0]);
  session.csrf_secret = std::move(secrets[1]);
  session.issued_at = now;
  session.user_id.reset();
}

void SessionLifecycle::ensure_started(SessionState& session, std::int64_t now) const {
  if (session.sid.empty() || session.csrf_secret.empty()) {
    restart(session, now);
  }
}

std::optional<CurrentUser> SessionLifecycle::load_user(const SessionState& session,
                                                       std::int64_t now) {
  if (!session.user_id || session.sid.empty()) {
    return std::nullopt;
  }
  auto user = store_.find_user(crypto_.session_id_digest(session.sid), now);
  if (!user || user->id != *session.user_id) {
    return std::nullopt;
  }
  return user;
}

void SessionLifecycle::log_in(SessionState& session, UserId user_id, std::int64_t now) {
  if (session.user_id && !session.sid.empty()) {
    store_.remove(crypto_.session_id_digest(session.sid));
  }
  restart(session, now);
  session.user_id = user_id;
  store_.create(crypto_.session_id_digest(session.sid), user_id, now + settings_.max_age_seconds);
  store_.trim_for_user(user_id, kMaxSessionsPerUser, now);
}

void SessionLifecycle::log_out(SessionState& session, std::int64_t now) {
  if (session.user_id && !session.sid.empty()) {
    store_.remove(crypto_.session_id_digest(session.sid));
  }
  restart(session, now);
}

}  // namespace authfcgi::domain
