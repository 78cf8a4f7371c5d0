#pragma once

#include <string_view>

namespace authfcgi::web {

inline constexpr std::string_view kSessionCookie = "session";
inline constexpr std::string_view kRememberCookie = "remember_token";
inline constexpr std::string_view kDeviceCookie = "device";
// The device cookie only matters to the login form.
inline constexpr std::string_view kDeviceCookiePath = "/auth/";
// A password reset's token, moved out of the mailed link so the form's URL holds none (no
// Referer can carry it); sent only to the form.
inline constexpr std::string_view kResetCookie = "reset";
inline constexpr std::string_view kResetCookiePath = "/auth/reset/password";

}  // namespace authfcgi::web
