#pragma once

#include <string>

#include "domain/auth_core.h"
#include "web/request.h"
#include "web/view/page_models.h"

namespace authfcgi::web {

// One request as handlers see it: the request and the browser's visit, which the auth core
// reads and changes. App turns the visit back into cookies after the handler.
struct PageContext {
  const Request& request;
  domain::Visit& visit;

  void flash(std::string message) { visit.flash(std::move(message)); }

  // The navbar state and the flashes, which a rendered page consumes (shown once).
  [[nodiscard]] view::Layout take_layout(std::string title) {
    view::Layout layout;
    layout.title = std::move(title);
    layout.logged_in = visit.user.has_value();
    if (visit.user) {
      layout.username = visit.user->username;
    }
    layout.flashes = std::move(visit.session.flashes);
    visit.session.flashes.clear();
    return layout;
  }
};

}  // namespace authfcgi::web
