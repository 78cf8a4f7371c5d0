#include "web/session_manager.h"

#include <array>
#include <span>

#include "crypto/base64url.h"
#include "crypto/hmac.h"

namespace authfcgi::web {

SessionManager::SessionManager(domain::SessionStore& store, const domain::RandomSource& random,
                               config::SessionConfig config)
    : store_(store), random_(random), config_(config) {}

void SessionManager::restart(domain::SessionState& session, std::int64_t now) const {
  // Both secrets from one draw: one getrandom call per new session instead of two.
  constexpr std::size_t kSecretBytes = 32;
  std::array<unsigned char, 2 * kSecretBytes> bytes{};
  random_.fill(bytes);
  const std::span<const unsigned char> all(bytes);
  session.sid = crypto::base64url_encode(all.first(kSecretBytes));
  session.csrf_secret = crypto::base64url_encode(all.last(kSecretBytes));
  session.issued_at = now;
  session.user_id.reset();
}

void SessionManager::ensure_started(domain::SessionState& session, std::int64_t now) const {
  if (session.sid.empty() || session.csrf_secret.empty()) {
    auto flashes = std::move(session.flashes);
    restart(session, now);
    session.flashes = std::move(flashes);
  }
}

std::optional<domain::User> SessionManager::load_user(const domain::SessionState& session,
                                                      std::int64_t now) {
  if (!session.user_id || session.sid.empty()) {
    return std::nullopt;
  }
  auto user = store_.find_user(crypto::sha256_hex(session.sid), now);
  if (!user || user->id != *session.user_id) {
    return std::nullopt;
  }
  return user;
}

void SessionManager::log_in(domain::SessionState& session, domain::UserId user_id,
                            std::int64_t now) {
  if (session.user_id && !session.sid.empty()) {
    store_.remove(crypto::sha256_hex(session.sid));
  }
  restart(session, now);
  session.user_id = user_id;
  store_.create(crypto::sha256_hex(session.sid), user_id, now + config_.max_age_seconds);
}

void SessionManager::log_out(domain::SessionState& session, std::int64_t now) {
  if (!session.sid.empty()) {
    store_.remove(crypto::sha256_hex(session.sid));
  }
  restart(session, now);
}

}  // namespace authfcgi::web
