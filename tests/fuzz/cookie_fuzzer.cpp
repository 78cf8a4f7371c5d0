// web::parse_cookie_header on any bytes: never crashes, keeps its limits, and returns only
// token names and cookie-octet values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "web/cookie.h"

namespace {

bool is_cookie_octet(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x21 && byte <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

void check(std::string_view header, const authfcgi::web::CookieLimits& limits) {
  const auto cookies = authfcgi::web::parse_cookie_header(header, limits);
  if (!cookies) {
    return;
  }
  FUZZ_CHECK(header.size() <= limits.max_header_bytes);
  FUZZ_CHECK(cookies->size() <= limits.max_cookies);
  for (const auto& [name, value] : *cookies) {
    FUZZ_CHECK(!name.empty());
    for (const char c : name) {
      FUZZ_CHECK(is_cookie_octet(c) && c != '=');
    }
    for (const char c : value) {
      FUZZ_CHECK(is_cookie_octet(c));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  check(header, {});
  check(header, authfcgi::web::CookieLimits{64, 3});
  return 0;
}
