#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/accounts.h"
#include "domain/auth_event_sink.h"
#include "domain/auth_service.h"
#include "domain/auth_settings.h"
#include "domain/clock.h"
#include "domain/device_marker.h"
#include "domain/gateway.h"
#include "domain/login_throttle.h"
#include "domain/login_throttle_store.h"
#include "domain/password_hasher.h"
#include "domain/remember_token_store.h"
#include "domain/remember_tokens.h"
#include "domain/session_lifecycle.h"
#include "domain/session_state.h"
#include "domain/session_store.h"
#include "domain/token_crypto.h"
#include "domain/user.h"
#include "domain/user_repository.h"

namespace authfcgi::domain {

// What to do with a cookie after the request.
enum class CookieIntent { Keep, Set, Clear };

struct CookieChange {
  CookieIntent intent = CookieIntent::Keep;
  std::string value;  // the new value, for Set
};

enum class RememberChoice { No, Yes };

// What a password login came to; on Success the visit's user is set.
struct LoginAttempt {
  LoginResult result = LoginResult::InvalidCredentials;
  std::int64_t retry_after_seconds = 0;  // set on Throttled
};
// Whether identify may log a browser in from its remember cookie. Requests that log in with a
// password or log out give the cookie up instead of exchanging it first.
enum class Restore { No, FromRememberCookie };

// One browser during one request, as the core reads and changes it. The web layer builds it
// from the cookies and turns it back into Set-Cookie headers; it never changes the session's
// identity or the remember cookie itself.
struct Visit {
  Visit(SessionState from_cookie, std::optional<std::string> remember_cookie_sent,
        std::string client, std::int64_t at, std::vector<DeviceMarker> device_markers_sent = {})
      : loaded(from_cookie),
        remember_cookie(std::move(remember_cookie_sent)),
        client_address(std::move(client)),
        now(at),
        device_markers(std::move(device_markers_sent)),
        session(std::move(from_cookie)) {}

  // What the browser sent.
  const SessionState loaded;  // the decoded session cookie; empty when none or invalid
  const std::optional<std::string> remember_cookie;
  const std::string client_address;
  const std::int64_t now;
  const std::vector<DeviceMarker> device_markers;  // from a validly signed device cookie

  // What the request made of it.
  SessionState session;
  std::optional<CurrentUser> user;  // nullopt: the anonymous user
  CookieChange remember;
  std::optional<std::vector<DeviceMarker>> device_update;  // the device cookie to send, if any

  // Set when the session has to be sent (it started or changed), else Keep.
  [[nodiscard]] CookieIntent session_cookie() const {
    return !session.sid.empty() && session != loaded ? CookieIntent::Set : CookieIntent::Keep;
  }
  void flash(std::string message) { add_flash(session, std::move(message)); }
};

// Everything the core needs, by reference; the owner (one worker thread's context, or authctl)
// outlives the core.
struct AuthCoreDependencies {
  UserRepository& users;
  SessionStore& sessions;
  RememberTokenStore& remember_tokens;
  LoginThrottleStore& throttle;
  const PasswordHasher& hasher;
  const TokenCrypto& crypto;
  const RandomSource& random;  // throttle attempt ids
  AuthEventSink& events;
  const Clock& clock;
  SessionSettings session_settings;
  ThrottleSettings throttle_settings;
  std::string dummy_hash;  // make_dummy_hash, made once per process
};

// The one owner of who is logged in: login, the session lifecycle, remember-me issue, exchange
// and theft response, logout, and (through Accounts) revoking every login of a user. Knows
// nothing of HTTP. One instance per worker thread.
class AuthCore {
 public:
  explicit AuthCore(AuthCoreDependencies deps);

  // Who the browser is: the user of its session row, else (with Restore::FromRememberCookie)
  // of a live remember token, which is exchanged for a new one with a new session. A token used
  // before that comes back after the grace minute revokes every login of its user. A session
  // whose row is gone becomes anonymous. Throws StorageUnavailable.
  void identify(Visit& visit, Restore restore);
  // Checks the password (throttled; see LoginThrottle). On success: a fresh session for the
  // user, the browser's old remember token given up, a new one issued if asked for, and the
  // browser's device marker for the account issued (or kept, while it is trusted).
  [[nodiscard]] LoginAttempt log_in(Visit& visit, std::string_view email, std::string_view password,
                                    RememberChoice remember);
  // Ends this browser's login: its session row and its remember token (when it proves
  // possession of it). True when someone was logged in by either.
  bool log_out(Visit& visit);
  // For a request to a location the gateway protects: who the browser is (identify, with a
  // remember-me restore), then whether it may pass `required_groups` (see domain::passes).
  // Costs one statement for a logged-in browser; never checks a password. Throws
  // StorageUnavailable.
  [[nodiscard]] GatewayAnswer verify(Visit& visit, std::string_view required_groups,
                                     std::string_view original_uri);
  // After this browser's user changed the password (which ended every login of the user,
  // Accounts): this browser alone goes on, with a fresh session; its remember cookie, whose
  // token went with the rest, is cleared.
  void keep_this_browser_logged_in(Visit& visit);
  // Gives the visit a session id and CSRF secret when it has none (forms, pending flashes).
  void ensure_session(Visit& visit) const;

  [[nodiscard]] Accounts& accounts() { return accounts_; }
  // The login throttle, which other attempts on an address (a registration) count against.
  [[nodiscard]] LoginThrottle& throttle() { return throttle_; }

 private:
  // A remember token came back after it was used: someone copied it. Whoever holds its
  // successor may be the thief or the user, so every login of the user ends.
  void respond_to_theft(Visit& visit, UserId user_id);
  // Logs the browser in from a Valid remember token and exchanges it for a new one.
  void restore_from_token(Visit& visit, const User& user, const RememberResult& token);
  void record(AuthEventKind kind, const Visit& visit, std::string_view account);
  // The browser's live device marker for this email, if it has one.
  [[nodiscard]] std::optional<DeviceMarker> device_marker_for(const Visit& visit,
                                                              std::string_view email) const;
  // After a successful login: the marker for the account first (the trusted one kept, else a
  // new one), then the browser's other live markers, at most kMaxDeviceMarkers.
  void issue_device_marker(Visit& visit, std::string_view email,
                           const std::optional<DeviceMarker>& trusted) const;

  UserRepository& users_;
  AuthEventSink& events_;
  const Clock& clock_;
  const TokenCrypto& crypto_;
  std::int64_t device_max_age_seconds_;
  SessionLifecycle sessions_;
  RememberTokens remember_;
  Accounts accounts_;
  LoginThrottle throttle_;
  AuthService auth_;
};

}  // namespace authfcgi::domain
