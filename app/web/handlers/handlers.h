#pragma once

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
[[nodiscard]] Response logout(PageContext& context, AuthHandlerServices& services);

// Whether a request to /auth/logout logs out (a POST, or a GET or HEAD the browser did not
// mark cross-site) rather than asks to confirm. Such a request gives the remember cookie up
// instead of logging in with it first.
[[nodiscard]] bool logout_acts(const Request& request);

// The 400 page for a failed CSRF check, with Flask-WTF's text.
[[nodiscard]] Response csrf_failure(PageContext& context, view::Renderer& renderer,
                                    CsrfCheck check);

}  // namespace authfcgi::web::handlers
