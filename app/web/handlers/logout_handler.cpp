#include <string>
#include <utility>

#include "web/handlers/handlers.h"

namespace authfcgi::web::handlers {
namespace {

std::string_view header(const Request& request, const std::string& name) {
  const auto found = request.headers.find(name);
  return found == request.headers.end() ? std::string_view() : std::string_view(found->second);
}

// A link on another site must not log the user out (a cross-site GET carries the cookies):
// the page asks to confirm with a form that posts back with a CSRF token.
Response confirm_page(PageContext& context, AuthHandlerServices& services) {
  services.core.ensure_session(context.visit);
  view::LogoutPage page;
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.layout = context.take_layout("Log Out");
  return Response::html(200, services.renderer.render(page));
}

}  // namespace

bool logout_acts(const Request& request) {
  // Browsers mark requests started by another site; curl and older browsers send no mark and
  // keep the lesson's navbar link working.
  return request.method == "POST" || header(request, "sec-fetch-site") != "cross-site";
}

Response logout(PageContext& context, AuthHandlerServices& services) {
  if (!logout_acts(context.request)) {
    return confirm_page(context, services);
  }
  if (context.request.method == "POST") {
    if (auto refused = refuse_without_csrf_token(context, services)) {
      return std::move(*refused);
    }
  }
  if (services.core.log_out(context.visit)) {
    context.flash("You have been logged out.");
  }
  return Response::redirect("/");
}

}  // namespace authfcgi::web::handlers
