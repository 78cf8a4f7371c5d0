#pragma once

#include <string_view>

namespace authfcgi::web {

inline constexpr std::string_view kSessionCookie = "session";
inline constexpr std::string_view kRememberCookie = "remember_token";

}  // namespace authfcgi::web
