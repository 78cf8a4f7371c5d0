#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace authfcgi::web {

enum class Route {
  Index,
  Login,
  Logout,
  Secret,
  Verify,
  Forbidden,
  Register,
  Unconfirmed,
  ResendConfirmation,
  Confirm,
  ResetRequest,
  ResetLink,
  ResetForm,
  ChangePassword,
  ChangeEmailRequest,
  ChangeEmail,
  Status,  // the pool's status page (status_enabled)
  Ping,
};

struct RouteMatch {
  std::optional<Route> route;  // nullopt: no such path (404)
  bool method_allowed = false;
  std::string allow;  // the Allow header for a 405
  std::string param;  // the last segment of a path with one (/auth/confirm/<token>)
};

// Exact paths, and /auth/confirm/<token> (one segment of [A-Za-z0-9_-], at most 128
// characters; anything else is no route). HEAD is allowed wherever GET is.
[[nodiscard]] RouteMatch match_route(std::string_view method, std::string_view path);

}  // namespace authfcgi::web
