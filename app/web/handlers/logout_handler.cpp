#include <string>

#include "web/cookie_names.h"
#include "web/handlers/handlers.h"

namespace authfcgi::web::handlers {

Response logout(PageContext& context, AuthHandlerServices& services) {
  if (context.user) {
    services.auth.record_event(domain::AuthEventKind::Logout, context.user->email,
                               context.request.remote_addr);
    services.sessions.log_out(context.session, context.now);
    context.user.reset();
    context.flash("You have been logged out.");
  }
  if (const auto token = context.request.cookies.find(std::string(kRememberCookie));
      token != context.request.cookies.end()) {
    services.remember.revoke(token->second);
    // A token this very request issued (the browser was restored from its remember cookie)
    // dies too, and is not sent.
    if (!context.issued_remember_token.empty()) {
      services.remember.revoke(context.issued_remember_token);
      const std::string prefix = std::string(kRememberCookie) + "=";
      std::erase_if(context.extra_cookies,
                    [&](const std::string& header) { return header.starts_with(prefix); });
    }
    context.extra_cookies.push_back(services.remember.clear_cookie_header(context.secure_cookies));
  }
  return Response::redirect("/");
}

}  // namespace authfcgi::web::handlers
