#pragma once

#include <string_view>

namespace authfcgi::web {

inline constexpr std::string_view kSessionCookie = "session";
inline constexpr std::string_view kRememberCookie = "remember_token";
inline constexpr std::string_view kDeviceCookie = "device";
// The device cookie only matters to the login form.
inline constexpr std::string_view kDeviceCookiePath = "/auth/";

}  // namespace authfcgi::web
