#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace authfcgi::web {

struct CookieLimits {
  std::size_t max_header_bytes = 8192;
  std::size_t max_cookies = 50;
};

// Parses a Cookie header ("a=1; b=2"). Malformed pairs are skipped (browsers send odd cookies
// of other apps on the same host); the first of repeated names wins. nullopt only when a
// limit is exceeded, which the caller answers with 400.
[[nodiscard]] std::optional<std::map<std::string, std::string>> parse_cookie_header(
    std::string_view header, const CookieLimits& limits = {});

enum class SameSite { Lax, Strict };

struct SetCookie {
  std::string name;
  std::string value;
  std::optional<std::int64_t> max_age;  // none: a browser-session cookie (no Expires)
  bool secure = false;
  bool http_only = true;
  SameSite same_site = SameSite::Lax;
  std::string path = "/";
};

// "name=value; Path=/; Max-Age=N; HttpOnly; SameSite=Lax[; Secure]". A negative or zero
// max_age deletes the cookie (Max-Age=0 plus an Expires in the past for old browsers).
[[nodiscard]] std::string serialize_set_cookie(const SetCookie& cookie);

}  // namespace authfcgi::web
