#include "web/router.h"

#include <array>

namespace authfcgi::web {
namespace {

struct RouteEntry {
  std::string_view path;
  Route route;
  bool accepts_post;
};

constexpr std::array<RouteEntry, 6> kRoutes{{
    {"/", Route::Index, false},
    {"/auth/login", Route::Login, true},
    {"/auth/logout", Route::Logout, true},
    {"/secret", Route::Secret, false},
    {"/auth/verify", Route::Verify, false},
    {"/auth/forbidden", Route::Forbidden, false},
}};

}  // namespace

RouteMatch match_route(std::string_view method, std::string_view path) {
  for (const auto& entry : kRoutes) {
    if (entry.path != path) {
      continue;
    }
    RouteMatch match;
    match.route = entry.route;
    match.method_allowed =
        method == "GET" || method == "HEAD" || (entry.accepts_post && method == "POST");
    match.allow = entry.accepts_post ? "GET, HEAD, POST" : "GET, HEAD";
    return match;
  }
  return {};
}

}  // namespace authfcgi::web
