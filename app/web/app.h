#pragma once

#include <memory>
#include <string_view>

#include "crypto/key_ring.h"
#include "domain/auth_event_sink.h"
#include "domain/auth_settings.h"
#include "domain/clock.h"
#include "domain/login_throttle_store.h"
#include "domain/password_hasher.h"
#include "domain/random_source.h"
#include "domain/remember_token_store.h"
#include "domain/session_store.h"
#include "domain/token_crypto.h"
#include "domain/user_repository.h"
#include "web/request.h"
#include "web/response.h"
#include "web/view/renderer.h"

namespace authfcgi::web {

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
