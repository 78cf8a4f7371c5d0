#include "web/router.h"

#include <algorithm>
#include <array>

namespace authfcgi::web {
namespace {

struct RouteEntry {
  std::string_view path;
  Route route;
  bool accepts_post;
};

constexpr std::array<RouteEntry, 15> kRoutes{{
    {"/", Route::Index, false},
    {"/auth/login", Route::Login, true},
    {"/auth/logout", Route::Logout, true},
    {"/secret", Route::Secret, false},
    {"/auth/verify", Route::Verify, false},
    {"/auth/forbidden", Route::Forbidden, false},
    {"/auth/status", Route::Status, false},
    {"/auth/ping", Route::Ping, false},
    {"/auth/register", Route::Register, true},
    {"/auth/unconfirmed", Route::Unconfirmed, false},
    {"/auth/confirm", Route::ResendConfirmation, true},
    {"/auth/reset", Route::ResetRequest, true},
    {"/auth/reset/password", Route::ResetForm, true},  // before the token route: no token is
    {"/auth/change-password", Route::ChangePassword, true},
    {"/auth/change_email", Route::ChangeEmailRequest, true},
}};

// Paths that end in a token: the prefix, then one segment.
struct ParamRouteEntry {
  std::string_view prefix;
  Route route;
};

constexpr std::array<ParamRouteEntry, 3> kParamRoutes{{
    {"/auth/confirm/", Route::Confirm},
    {"/auth/reset/", Route::ResetLink},
    {"/auth/change_email/", Route::ChangeEmail},
}};

constexpr std::size_t kMaxParamBytes = 128;

bool is_token_segment(std::string_view text) {
  return !text.empty() && text.size() <= kMaxParamBytes &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

RouteMatch matched(Route route, std::string_view method, bool accepts_post) {
  RouteMatch match;
  match.route = route;
  match.method_allowed = method == "GET" || method == "HEAD" || (accepts_post && method == "POST");
  match.allow = accepts_post ? "GET, HEAD, POST" : "GET, HEAD";
  return match;
}

}  // namespace

RouteMatch match_route(std::string_view method, std::string_view path) {
  for (const auto& entry : kRoutes) {
    if (entry.path == path) {
      return matched(entry.route, method, entry.accepts_post);
    }
  }
  for (const auto& entry : kParamRoutes) {
    if (path.starts_with(entry.prefix) && is_token_segment(path.substr(entry.prefix.size()))) {
      RouteMatch match = matched(entry.route, method, false);
      match.param = std::string(path.substr(entry.prefix.size()));
      return match;
    }
  }
  return {};
}

}  // namespace authfcgi::web
