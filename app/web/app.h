#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/key_ring.h"
#include "domain/account_tokens.h"
#include "domain/auth_event_sink.h"
#include "domain/auth_settings.h"
#include "domain/clock.h"
#include "domain/login_throttle_store.h"
#include "domain/mail.h"
#include "domain/password_hasher.h"
#include "domain/password_policy.h"
#include "domain/pool_status.h"
#include "domain/random_source.h"
#include "domain/remember_token_store.h"
#include "domain/session_store.h"
#include "domain/token_crypto.h"
#include "domain/user_repository.h"
#include "web/request.h"
#include "web/response.h"
#include "web/view/renderer.h"

namespace authfcgi::web {

// The self-service accounts' stores and services (registration, confirmation).
struct AccountServices {
  domain::AccountTokenStore& tokens;
  domain::MailOutbox& outbox;
  domain::Transactions& transactions;
  const domain::MailComposer& composer;
  const domain::PasswordStrength& strength;
  bool registration_open = false;  // /auth/register answers 404 unless open
};

// /auth/status and /auth/ping: off (404) unless enabled, and then only for loopback clients
// and the addresses in `allow` (canonical text, util::canonical_ip), by the web server's
// REMOTE_ADDR: the shipped sites restrict them too, this holds when a site does not.
struct StatusSettings {
  bool enabled = false;
  std::vector<std::string> allow;
};

// Everything App needs, by reference; the owner (one worker thread's context) outlives App.
struct AppDependencies {
  domain::UserRepository& users;
  domain::SessionStore& sessions;
  domain::RememberTokenStore& remember_tokens;
  domain::LoginThrottleStore& throttle;
  domain::PasswordHasher& hasher;
  const domain::Clock& clock;
  const domain::TokenCrypto& token_crypto;
  const domain::RandomSource& random;
  domain::AuthEventSink& events;
  const crypto::KeyRing& keys;  // the session cookie's and CSRF tokens' MACs
  view::Renderer& renderer;
  domain::SessionSettings session_settings;
  domain::ThrottleSettings throttle_settings;
  std::string_view dummy_hash;  // domain::make_dummy_hash, made once per process
  AccountServices* accounts;    // nullptr: the account pages answer 404 (tests of the login)
  // The pool's counters: verify answers and database errors are counted here; /auth/status
  // reads them. Either may be nullptr (no shared status segment).
  domain::PoolMeter* meter;
  const domain::PoolStatusSource* pool_status;
  StatusSettings status;
};

// The whole web application as a pure function of a request: it translates cookies and forms
// to and from the auth core's visit, routes, and renders. Never throws: StorageUnavailable becomes
// a 503 page and anything else a 500 page. One instance per worker thread.
class App {
 public:
  explicit App(AppDependencies deps);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  [[nodiscard]] Response handle(const Request& request);
  // The anonymous error page for a request refused before routing (400, 413, ...).
  [[nodiscard]] Response error_page(int status);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace authfcgi::web
