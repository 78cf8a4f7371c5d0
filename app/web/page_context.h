#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/session_state.h"
#include "domain/user.h"
#include "web/request.h"
#include "web/view/page_models.h"

namespace authfcgi::web {

// The state of one request as handlers see it. App loads it before the handler and saves
// the session (and sends extra_cookies) after it.
struct PageContext {
  const Request& request;
  std::int64_t now = 0;
  domain::SessionState session;
  std::optional<domain::User> user;        // current_user; nullopt is the anonymous user
  std::vector<std::string> extra_cookies;  // Set-Cookie values besides the session's
  bool secure_cookies = false;             // HTTPS request, or forced by configuration
  std::string issued_remember_token;       // a token this request issued (remember-me restore)

  void flash(std::string message) { session.flashes.push_back(std::move(message)); }

  // The navbar state and the flashes, which a rendered page consumes (shown once).
  [[nodiscard]] view::Layout take_layout(std::string title) {
    view::Layout layout;
    layout.title = std::move(title);
    layout.logged_in = user.has_value();
    if (user) {
      layout.username = user->username;
    }
    layout.flashes = std::move(session.flashes);
    session.flashes.clear();
    return layout;
  }
};

}  // namespace authfcgi::web
