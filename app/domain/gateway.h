#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/user.h"

namespace authfcgi::domain {

// What the auth gateway answers nginx's auth_request or Apache's authorizer for one request to
// a protected location.
enum class GatewayResult { Allowed, Anonymous, Forbidden };

struct GatewayAnswer {
  GatewayResult result = GatewayResult::Anonymous;
  std::string login_location;  // Anonymous: the login page, with the protected URI as `next`
};

// A group name: 1 to 64 of A-Z a-z 0-9 . _ - (no comma: locations list groups with commas).
[[nodiscard]] bool is_valid_group_name(std::string_view name);

// Whether the user may pass a location that requires `required`: a comma-separated list of
// groups, any one of which will do (spaces around names ignored); empty (or blank) means any
// logged-in user. An unconfirmed email never passes.
[[nodiscard]] bool passes(const CurrentUser& user, std::string_view required);

// "/auth/login?next=<original_uri percent-encoded>" when original_uri is a safe `next` (the
// login form's rule), else "/auth/login".
[[nodiscard]] std::string login_location(std::string_view original_uri);

}  // namespace authfcgi::domain
