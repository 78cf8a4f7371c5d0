#include "domain/auth_service.h"

#include <stdexcept>
#include <utility>

namespace authfcgi::domain {

std::string make_dummy_hash(const PasswordHasher& hasher) {
  constexpr std::string_view kDummyPassword = "authfcgi: no such account";
  return hasher.hash(kDummyPassword);
}

AuthService::AuthService(UserRepository& users, const PasswordHasher& hasher,
                         LoginThrottle& throttle, AuthEventSink& events, const Clock& clock,
                         std::string dummy_hash)
    : users_(users),
      hasher_(hasher),
      throttle_(throttle),
      events_(events),
      clock_(clock),
      dummy_hash_(std::move(dummy_hash)) {
  if (dummy_hash_.empty()) {
    throw std::invalid_argument("AuthService needs a dummy hash");
  }
}

bool AuthService::verify(const std::optional<User>& user, std::string_view password) const {
  if (!user) {
    // Same cost as a real verify so unknown emails take equal time; the result is ignored.
    static_cast<void>(hasher_.verify(dummy_hash_, password));
    return false;
  }
  return hasher_.verify(user->password_hash, password);
}

LoginOutcome AuthService::authenticate(const AttemptSource& source, std::string_view password) {
  throttle_.prune_now_and_then();
  // Decided before the users table is read, and the same for known and unknown emails, so a
  // refusal reveals nothing about which accounts exist.
  Admission admission = throttle_.admit(source);
  if (!admission.attempt) {
    record_event(AuthEventKind::LoginThrottled, source.email, source.address);
    return {LoginResult::Throttled, std::nullopt, admission.retry_after_seconds, false};
  }
  AdmittedAttempt& attempt = *admission.attempt;

  const std::optional<User> user = users_.find_by_email(source.email);
  if (!verify(user, password)) {
    attempt.failed();
    record_event(AuthEventKind::LoginFailed, source.email, source.address);
    return {LoginResult::InvalidCredentials, std::nullopt, 0, false};
  }

  attempt.succeeded();
  User logged_in = *user;
  if (hasher_.needs_rehash(logged_in.password_hash)) {
    // Only if the hash is still the one just verified: a password changed meanwhile (authctl
    // user passwd) must not be overwritten with a hash of the old one.
    std::string upgraded = hasher_.hash(password);
    if (users_.replace_password_hash(logged_in.id, logged_in.password_hash, upgraded)) {
      logged_in.password_hash = std::move(upgraded);
    }
  }
  record_event(AuthEventKind::LoginOk, source.email, source.address);
  return {LoginResult::Success, std::move(logged_in), 0, attempt.trusted_device()};
}

void AuthService::record_event(AuthEventKind kind, std::string_view email,
                               std::string_view client_address) {
  events_.record(AuthEvent{kind, clock_.now(), std::string(client_address), std::string(email)});
}

}  // namespace authfcgi::domain
