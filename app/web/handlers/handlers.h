#pragma once

#include <optional>

#include "domain/auth_core.h"
#include "web/csrf.h"
#include "web/page_context.h"
#include "web/response.h"
#include "web/view/renderer.h"

namespace authfcgi::web::handlers {

// What the login and logout handlers use besides the page context.
struct AuthHandlerServices {
  domain::AuthCore& core;
  const Csrf& csrf;
  view::Renderer& renderer;
};

[[nodiscard]] Response home(PageContext& context, view::Renderer& renderer);
[[nodiscard]] Response secret(PageContext& context, view::Renderer& renderer);
[[nodiscard]] Response login(PageContext& context, AuthHandlerServices& services);
// The auth gateway's answer for nginx's auth_request (GET /auth/verify): 200 with Remote-User,
// Remote-Email and Remote-Groups, 401 with the login page as Location, or 403. No body.
[[nodiscard]] Response verify(PageContext& context, domain::AuthCore& core);
[[nodiscard]] Response logout(PageContext& context, AuthHandlerServices& services);

// Whether a request to /auth/logout logs out (a POST, or a GET or HEAD the browser did not
// mark cross-site) rather than asks to confirm. Such a request gives the remember cookie up
// instead of logging in with it first.
[[nodiscard]] bool logout_acts(const Request& request);

// For a form POST: nullopt when its csrf_token is good for this session, else the 400 page
// with Flask-WTF's text.
[[nodiscard]] std::optional<Response> refuse_without_csrf_token(PageContext& context,
                                                                AuthHandlerServices& services);

}  // namespace authfcgi::web::handlers
