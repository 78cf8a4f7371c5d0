#include "domain/gateway.h"

#include <algorithm>

#include "domain/next_url.h"
#include "util/percent_encoding.h"
#include "util/strings.h"

namespace authfcgi::domain {

bool is_valid_group_name(std::string_view name) {
  constexpr std::size_t kMaxGroupName = 64;
  if (name.empty() || name.size() > kMaxGroupName) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool passes(const CurrentUser& user, std::string_view required) {
  if (!user.email_confirmed) {
    return false;
  }
  if (util::trim(required).empty()) {
    return true;
  }
  // A list that names no group (",") is a mistake in the site's configuration: nobody passes.
  for (const std::string_view part : util::split(required, ',')) {
    const std::string_view group = util::trim(part);
    if (!group.empty() &&
        std::find(user.groups.begin(), user.groups.end(), group) != user.groups.end()) {
      return true;
    }
  }
  return false;
}

std::string login_location(std::string_view original_uri) {
  std::string location = "/auth/login";
  if (is_safe_next(original_uri)) {
    location += "?next=";
    location += util::percent_encode(original_uri);
  }
  return location;
}

}  // namespace authfcgi::domain
