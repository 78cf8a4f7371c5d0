#include "web/remember_me.h"

#include <array>

#include "crypto/base64url.h"
#include "crypto/hmac.h"
#include "web/cookie.h"
#include "web/cookie_names.h"

namespace authfcgi::web {
namespace {

constexpr std::size_t kSelectorBytes = 16;
constexpr std::size_t kValidatorBytes = 32;
constexpr std::size_t kMaxCookieBytes = 128;
// How long after its use a token is merely ignored rather than taken as stolen.
constexpr std::int64_t kReuseGraceSeconds = 60;

struct TokenParts {
  std::string_view selector;
  std::string_view validator;
};

std::optional<TokenParts> split_token(std::string_view cookie_value) {
  if (cookie_value.size() > kMaxCookieBytes) {
    return std::nullopt;
  }
  const auto dot = cookie_value.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  TokenParts parts{cookie_value.substr(0, dot), cookie_value.substr(dot + 1)};
  const auto selector = crypto::base64url_decode(parts.selector);
  const auto validator = crypto::base64url_decode(parts.validator);
  if (!selector || selector->size() != kSelectorBytes || !validator ||
      validator->size() != kValidatorBytes) {
    return std::nullopt;
  }
  return parts;
}

std::string to_hex(const crypto::Mac& mac) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(mac.size() * 2);
  for (const unsigned char byte : mac) {
    hex.push_back(kDigits[byte >> 4U]);
    hex.push_back(kDigits[byte & 0x0FU]);
  }
  return hex;
}

}  // namespace

RememberMe::RememberMe(domain::RememberTokenStore& store, const crypto::KeyRing& keys,
                       const domain::RandomSource& random, std::int64_t max_age_seconds)
    : store_(store), keys_(keys), random_(random), max_age_seconds_(max_age_seconds) {}

std::string RememberMe::validator_hash(const crypto::Key& key, std::string_view selector,
                                       std::string_view validator) const {
  std::string message(selector);
  message.push_back('.');
  message.append(validator);
  return to_hex(crypto::hmac_sign(key, message));
}

std::string RememberMe::issue(domain::UserId user_id, std::int64_t now) {
  std::array<unsigned char, kSelectorBytes> selector_bytes{};
  std::array<unsigned char, kValidatorBytes> validator_bytes{};
  random_.fill(selector_bytes);
  random_.fill(validator_bytes);
  const std::string selector = crypto::base64url_encode(selector_bytes);
  const std::string validator = crypto::base64url_encode(validator_bytes);
  store_.insert(domain::RememberTokenRecord{
      selector,
      validator_hash(keys_.signing_key(crypto::KeyPurpose::Remember), selector, validator), user_id,
      now + max_age_seconds_});
  return selector + "." + validator;
}

RememberResult RememberMe::consume(std::string_view cookie_value, std::int64_t now) {
  const auto parts = split_token(cookie_value);
  if (!parts) {
    return {};
  }
  const auto record = store_.find(parts->selector);
  if (!record || !validator_matches(*record, parts->selector, parts->validator)) {
    // A wrong validator leaves the row alone: knowing a selector must not let anyone delete it.
    return {};
  }
  if (record->expires_at <= now) {
    store_.remove(parts->selector);
    return {};
  }
  if (record->used_at != 0) {
    if (now - record->used_at <= kReuseGraceSeconds) {
      return {RememberCheck::Superseded, record->user_id};
    }
    return {RememberCheck::Reused, record->user_id};
  }
  if (!store_.mark_used(parts->selector, now)) {
    return {RememberCheck::Superseded, record->user_id};  // a parallel request was first
  }
  return {RememberCheck::Valid, record->user_id};
}

bool RememberMe::validator_matches(const domain::RememberTokenRecord& record,
                                   std::string_view selector, std::string_view validator) const {
  // Tokens issued before a key rotation stay valid: try the previous keys too.
  for (const crypto::Key* key : keys_.verification_keys(crypto::KeyPurpose::Remember)) {
    if (crypto::constant_time_equal(validator_hash(*key, selector, validator),
                                    record.validator_hash)) {
      return true;
    }
  }
  return false;
}

std::string RememberMe::cookie_header(std::string_view cookie_value, bool secure) const {
  SetCookie cookie;
  cookie.name = kRememberCookie;
  cookie.value = cookie_value;
  cookie.max_age = max_age_seconds_;
  cookie.secure = secure;
  return serialize_set_cookie(cookie);
}

std::string RememberMe::clear_cookie_header(bool secure) const {
  SetCookie cookie;
  cookie.name = kRememberCookie;
  cookie.max_age = 0;
  cookie.secure = secure;
  return serialize_set_cookie(cookie);
}

void RememberMe::revoke(std::string_view cookie_value) {
  if (const auto parts = split_token(cookie_value)) {
    store_.remove(parts->selector);
  }
}

}  // namespace authfcgi::web
