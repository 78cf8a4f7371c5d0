#pragma once

#include <optional>

#include "domain/auth_core.h"
#include "domain/self_service.h"
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

// The self-service account pages use these besides the login's.
struct AccountHandlerServices {
  AuthHandlerServices& auth;
  domain::SelfService& self_service;
  bool registration_open = false;
  bool force_secure_cookies = false;  // the session settings' secure_cookies
};

[[nodiscard]] Response home(PageContext& context, view::Renderer& renderer);
[[nodiscard]] Response register_account(PageContext& context, AccountHandlerServices& services);
[[nodiscard]] Response unconfirmed(PageContext& context, AuthHandlerServices& services);
[[nodiscard]] Response resend_confirmation(PageContext& context, AccountHandlerServices& services);
[[nodiscard]] Response confirm(PageContext& context, AccountHandlerServices& services,
                               std::string_view token);
// Password reset: the request form (always the same answer), the mailed link (moves its token
// into a cookie and redirects to the form), and the form that sets the new password.
[[nodiscard]] Response reset_request(PageContext& context, AccountHandlerServices& services);
[[nodiscard]] Response reset_link(PageContext& context, AccountHandlerServices& services,
                                  std::string_view token);
[[nodiscard]] Response reset_form(PageContext& context, AccountHandlerServices& services);
// Logged in: a new password (this browser stays logged in, every other one is logged out), a
// new address (confirmed by a mailed link), and that link.
[[nodiscard]] Response change_password(PageContext& context, AccountHandlerServices& services);
[[nodiscard]] Response change_email_request(PageContext& context, AccountHandlerServices& services);
[[nodiscard]] Response change_email(PageContext& context, AccountHandlerServices& services,
                                    std::string_view token);
// login_required: nullopt for a logged-in visitor, else the redirect to the login page (with
// Flask-Login's flash and the path as `next`).
[[nodiscard]] std::optional<Response> require_login(PageContext& context);
// The throttle's 429 for a form: the page with a notice saying how long to wait.
[[nodiscard]] std::string throttle_notice(std::int64_t retry_after_seconds);
// That page as the 429 answer, with Retry-After.
[[nodiscard]] Response too_many_attempts(Response page, std::int64_t retry_after_seconds);
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
