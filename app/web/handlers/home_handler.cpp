#include "web/handlers/handlers.h"

namespace authfcgi::web::handlers {

Response home(PageContext& context, view::Renderer& renderer) {
  return Response::html(200, renderer.render(view::IndexPage{context.take_layout("Home")}));
}

}  // namespace authfcgi::web::handlers
