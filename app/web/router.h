#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace authfcgi::web {

enum class Route { Index, Login, Logout, Secret, Verify, Forbidden };

struct RouteMatch {
  std::optional<Route> route;  // nullopt: no such path (404)
  bool method_allowed = false;
  std::string allow;  // the Allow header for a 405
};

// Exact paths only. HEAD is allowed wherever GET is.
[[nodiscard]] RouteMatch match_route(std::string_view method, std::string_view path);

}  // namespace authfcgi::web
