#pragma once

#include "domain/auth_service.h"
#include "web/csrf.h"
#include "web/page_context.h"
#include "web/remember_me.h"
#include "web/response.h"
#include "web/session_manager.h"
#include "web/view/renderer.h"

namespace authfcgi::web::handlers {

// What the login and logout handlers use besides the page context.
struct AuthHandlerServices {
  domain::AuthService& auth;
  SessionManager& sessions;
  RememberMe& remember;
  const Csrf& csrf;
  view::Renderer& renderer;
};

[[nodiscard]] Response home(PageContext& context, view::Renderer& renderer);
[[nodiscard]] Response secret(PageContext& context, view::Renderer& renderer);
[[nodiscard]] Response login(PageContext& context, AuthHandlerServices& services);
[[nodiscard]] Response logout(PageContext& context, AuthHandlerServices& services);

}  // namespace authfcgi::web::handlers
