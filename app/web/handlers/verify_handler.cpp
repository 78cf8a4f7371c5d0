#include <string>

#include "web/handlers/handlers.h"

namespace authfcgi::web::handlers {

Response verify(PageContext& context, domain::AuthCore& core) {
  const auto original = context.request.headers.find("x-original-uri");
  const std::string original_uri =
      original == context.request.headers.end() ? std::string() : original->second;
  const domain::GatewayAnswer answer =
      core.verify(context.visit, context.request.require_group, original_uri);
  Response response;
  switch (answer.result) {
    case domain::GatewayResult::Allowed: {
      const domain::CurrentUser& user = *context.visit.user;
      std::string groups;
      for (const std::string& group : user.groups) {
        if (!groups.empty()) {
          groups += ',';
        }
        groups += group;
      }
      response.status = 200;
      response.add_header("Remote-User", user.username);
      response.add_header("Remote-Email", user.email);
      response.add_header("Remote-Groups", groups);
      break;
    }
    case domain::GatewayResult::Anonymous:
      response.status = 401;
      response.add_header("Location", answer.login_location);
      break;
    case domain::GatewayResult::Forbidden:
      response.status = 403;
      break;
  }
  return response;
}

}  // namespace authfcgi::web::handlers
