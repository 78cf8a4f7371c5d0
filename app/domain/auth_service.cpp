#include "domain/auth_service.h"

namespace authfcgi::domain {

AuthService::AuthService(UserRepository& users, const PasswordHasher& hasher, AuthEventSink& events,
                         const Clock& clock, std::string_view dummy_password)
    : users_(users),
      hasher_(hasher),
      events_(events),
      clock_(clock),
      dummy_hash_(hasher.hash(dummy_password)) {}

LoginOutcome AuthService::authenticate(std::string_view email, std::string_view password,
                                       std::string_view client_address) {
  const std::optional<User> user = users_.find_by_email(email);
  if (!user) {
    // Same cost as a real verify so unknown emails take equal time; the result is ignored.
    static_cast<void>(hasher_.verify(dummy_hash_, password));
    record_event(AuthEventKind::LoginFailed, email, client_address);
    return {LoginResult::InvalidCredentials, std::nullopt};
  }
  if (!hasher_.verify(user->password_hash, password)) {
    record_event(AuthEventKind::LoginFailed, email, client_address);
    return {LoginResult::InvalidCredentials, std::nullopt};
  }
  User logged_in = *user;
  if (hasher_.needs_rehash(logged_in.password_hash)) {
    logged_in.password_hash = hasher_.hash(password);
    users_.update_password_hash(logged_in.id, logged_in.password_hash);
  }
  record_event(AuthEventKind::LoginOk, email, client_address);
  return {LoginResult::Success, std::move(logged_in)};
}

void AuthService::record_event(AuthEventKind kind, std::string_view email,
                               std::string_view client_address) {
  events_.record(AuthEvent{kind, clock_.now(), std::string(client_address), std::string(email)});
}

}  // namespace authfcgi::domain
