#include "web/csrf.h"

#include <algorithm>
#include <charconv>

#include "crypto/base64url.h"
#include "crypto/hmac.h"

namespace authfcgi::web {

namespace {

// Tokens from the future (beyond another worker's clock skew) were not issued by us.
constexpr std::int64_t kClockSkewSeconds = 60;
// int64 seconds never need more digits; longer text is not ours.
constexpr std::size_t kMaxTimestampDigits = 19;

std::string mac_message(std::string_view csrf_secret, std::string_view issued_at_text) {
  std::string message(csrf_secret);
  message += '|';
  message += issued_at_text;
  return message;
}

}  // namespace

Csrf::Csrf(const crypto::KeyRing& keys, std::int64_t time_limit_seconds)
    : keys_(keys), time_limit_seconds_(time_limit_seconds) {}

std::string Csrf::issue(std::string_view csrf_secret, std::int64_t now) const {
  const std::string issued_at = std::to_string(now);
  const crypto::Mac mac = crypto::hmac_sign(keys_.signing_key(crypto::KeyPurpose::Csrf),
                                            mac_message(csrf_secret, issued_at));
  return issued_at + "." + crypto::base64url_encode(mac);
}

CsrfCheck Csrf::check(std::string_view csrf_secret, std::string_view token,
                      std::int64_t now) const {
  if (token.empty() || csrf_secret.empty()) {
    return CsrfCheck::Missing;
  }
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > kMaxTimestampDigits) {
    return CsrfCheck::Invalid;
  }
  // The timestamp is signed as the exact text we wrote, so only digits are accepted and the
  // MAC then pins the spelling (no sign, no leading zeros of an attacker's choosing).
  const std::string_view issued_at_text = token.substr(0, dot);
  if (!std::all_of(issued_at_text.begin(), issued_at_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return CsrfCheck::Invalid;
  }
  std::int64_t issued_at = 0;
  const auto [end, error] = std::from_chars(
      issued_at_text.data(), issued_at_text.data() + issued_at_text.size(), issued_at);
  if (error != std::errc{} || end != issued_at_text.data() + issued_at_text.size()) {
    return CsrfCheck::Invalid;
  }
  const auto mac = crypto::base64url_decode(token.substr(dot + 1));
  if (!mac || mac->size() != sizeof(crypto::Mac)) {
    return CsrfCheck::Invalid;
  }
  const std::string message = mac_message(csrf_secret, issued_at_text);
  const bool verified = crypto::hmac_verify_any(keys_, crypto::KeyPurpose::Csrf, message, *mac);
  if (!verified || issued_at > now + kClockSkewSeconds) {
    return CsrfCheck::Invalid;
  }
  if (issued_at < now - time_limit_seconds_) {
    return CsrfCheck::Expired;
  }
  return CsrfCheck::Ok;
}

std::string_view csrf_failure_message(CsrfCheck check) {
  switch (check) {
    case CsrfCheck::Missing:
      return "The CSRF token is missing.";
    case CsrfCheck::Invalid:
      return "The CSRF token is invalid.";
    case CsrfCheck::Expired:
      return "The CSRF token has expired.";
    case CsrfCheck::Ok:
      break;
  }
  return {};
}

}  // namespace authfcgi::web
