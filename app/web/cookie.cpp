#include "web/cookie.h"

#include "util/strings.h"

namespace authfcgi::web {

namespace {

// RFC 6265 cookie-name: an RFC 7230 token.
bool is_token_char(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (const char c : text) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

// RFC 6265 cookie-octet: visible ASCII except '"', ',', ';' and '\'.
bool is_cookie_value(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7E || c == '"' || c == ',' || c == ';' || c == '\\') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_cookie_header(std::string_view header,
                                                                      const CookieLimits& limits) {
  if (header.size() > limits.max_header_bytes) {
    return std::nullopt;
  }
  std::map<std::string, std::string> cookies;
  std::size_t pairs = 0;
  for (const std::string_view raw_pair : util::split(header, ';')) {
    const std::string_view pair = util::trim(raw_pair);
    if (pair.empty()) {
      continue;
    }
    // Every non-empty pair counts, well-formed or not, so a flood of junk is still a flood.
    if (++pairs > limits.max_cookies) {
      return std::nullopt;
    }
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) {
      continue;
    }
    const std::string_view name = util::trim(pair.substr(0, equals));
    std::string_view value = util::trim(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!is_token(name) || !is_cookie_value(value)) {
      continue;
    }
    cookies.emplace(name, value);  // emplace keeps the first of repeated names
  }
  return cookies;
}

std::string serialize_set_cookie(const SetCookie& cookie) {
  std::string out = cookie.name + "=" + cookie.value + "; Path=" + cookie.path;
  if (cookie.max_age) {
    if (*cookie.max_age <= 0) {
      out += "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    } else {
      out += "; Max-Age=" + std::to_string(*cookie.max_age);
    }
  }
  if (cookie.http_only) {
    out += "; HttpOnly";
  }
  out += cookie.same_site == SameSite::Strict ? "; SameSite=Strict" : "; SameSite=Lax";
  if (cookie.secure) {
    out += "; Secure";
  }
  return out;
}

}  // namespace authfcgi::web
