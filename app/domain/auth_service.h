#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/auth_event_sink.h"
#include "domain/clock.h"
#include "domain/login_throttle.h"
#include "domain/password_hasher.h"
#include "domain/user.h"
#include "domain/user_repository.h"

namespace authfcgi::domain {

enum class LoginResult { Success, InvalidCredentials, Throttled };

struct LoginOutcome {
  LoginResult result = LoginResult::InvalidCredentials;
  std::optional<User> user;              // set on Success
  std::int64_t retry_after_seconds = 0;  // set on Throttled
  bool device_trusted = false;           // the browser's device marker was trusted
};

// The hash that unknown emails are verified against, so that they cost one verify like known
// ones: the hash of a password no account has. One argon2id hash, so it is made once per
// process and shared by every thread's AuthService.
[[nodiscard]] std::string make_dummy_hash(const PasswordHasher& hasher);

// Checks credentials against the throttle and the password hash; knows nothing of HTTP.
// AuthCore owns one and starts the session. One instance per worker thread.
class AuthService {
 public:
  // dummy_hash: from make_dummy_hash with the same hasher; throws std::invalid_argument when
  // empty (unknown emails would then be answered faster than known ones).
  AuthService(UserRepository& users, const PasswordHasher& hasher, LoginThrottle& throttle,
              AuthEventSink& events, const Clock& clock, std::string dummy_hash);

  // source.email must be normalized (lower-case). Unknown email and wrong password give the
  // same outcome at the same cost, and are throttled alike. While the throttle refuses the
  // attempt, no password is checked: even the right one gives Throttled. On success with an
  // outdated hash, the hash is upgraded. Throws StorageUnavailable when the database is down.
  [[nodiscard]] LoginOutcome authenticate(const AttemptSource& source, std::string_view password);

 private:
  void record_event(AuthEventKind kind, std::string_view email, std::string_view client_address);
  [[nodiscard]] bool verify(const std::optional<User>& user, std::string_view password) const;

  UserRepository& users_;
  const PasswordHasher& hasher_;
  LoginThrottle& throttle_;
  AuthEventSink& events_;
  const Clock& clock_;
  std::string dummy_hash_;
};

}  // namespace authfcgi::domain
