#pragma once

#include <cstdint>
#include <string>

namespace authfcgi::domain {

enum class AuthEventKind {
  LoginOk,
  LoginFailed,
  LoginThrottled,
  Logout,
  RememberTokenUsed,
  RememberTokenRejected,
  RememberTokenReused,  // a used token came back: taken as theft, the user's logins revoked
};

// One auth event; never carries a password, token or cookie.
struct AuthEvent {
  AuthEventKind kind = AuthEventKind::LoginOk;
  std::int64_t time = 0;
  std::string client_address;
  std::string account;  // the email as typed (lower-cased), or empty
};

// Where auth events go (one log line each). Thread-safe.
class AuthEventSink {
 public:
  virtual ~AuthEventSink() = default;
  virtual void record(const AuthEvent& event) = 0;
};

}  // namespace authfcgi::domain
