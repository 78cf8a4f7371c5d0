#include "web/handlers/handlers.h"

#include "util/percent_encoding.h"

namespace authfcgi::web::handlers {

// login_required: anonymous visitors are sent to the login page with the path to return to.
Response secret(PageContext& context, view::Renderer& renderer) {
  if (!context.visit.user) {
    context.flash("Please log in to access this page.");
    return Response::redirect("/auth/login?next=" + util::percent_encode(context.request.path));
  }
  return Response::html(200, renderer.render(view::SecretPage{context.take_layout("Secret")}));
}

}  // namespace authfcgi::web::handlers
