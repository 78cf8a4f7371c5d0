#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/auth_event_sink.h"
#include "domain/clock.h"
#include "domain/login_throttle_store.h"
#include "domain/password_hasher.h"
#include "domain/throttle_policy.h"
#include "domain/user.h"
#include "domain/user_repository.h"

namespace authfcgi::domain {

enum class LoginResult { Success, InvalidCredentials, Throttled };

struct LoginOutcome {
  LoginResult result = LoginResult::InvalidCredentials;
  std::optional<User> user;              // set on Success
  std::int64_t retry_after_seconds = 0;  // set on Throttled
};

struct LoginThrottling {
  LoginThrottleStore& store;
  ThrottleLimits account;
  ThrottleLimits address;
};

// Checks credentials; knows nothing of HTTP. One instance per worker thread.
class AuthService {
 public:
  // Hashes a random password once, so that unknown emails cost one verify like known ones.
  AuthService(UserRepository& users, const PasswordHasher& hasher, LoginThrottling throttling,
              AuthEventSink& events, const Clock& clock, std::string_view dummy_password);

  // email must be normalized (lower-case). Unknown email and wrong password give the same
  // outcome at the same cost, and are throttled alike. While an account or the client's
  // address must wait, no password is checked: even the right one gives Throttled. On success
  // with an outdated hash, the hash is upgraded. Throws StorageUnavailable when the database
  // is down.
  [[nodiscard]] LoginOutcome authenticate(std::string_view email, std::string_view password,
                                          std::string_view client_address);

  // One auth event (logout, remember-token use) for the log.
  void record_event(AuthEventKind kind, std::string_view email, std::string_view client_address);

 private:
  [[nodiscard]] bool verify(const std::optional<User>& user, std::string_view password) const;

  UserRepository& users_;
  const PasswordHasher& hasher_;
  LoginThrottling throttling_;
  AuthEventSink& events_;
  const Clock& clock_;
  std::string dummy_hash_;
};

}  // namespace authfcgi::domain
