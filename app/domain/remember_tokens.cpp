#include "domain/remember_tokens.h"

#include <algorithm>
#include <array>

#include "domain/auth_settings.h"

namespace authfcgi::domain {
namespace {

constexpr std::size_t kSelectorBytes = 16;
constexpr std::size_t kValidatorBytes = 32;
// Unpadded base64url lengths of the two parts.
constexpr std::size_t kSelectorChars = 22;
constexpr std::size_t kValidatorChars = 43;

bool is_base64url(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// The selector of a well-formed cookie value, else empty.
std::string_view selector_of(std::string_view cookie_value) {
  if (cookie_value.size() != kSelectorChars + 1 + kValidatorChars ||
      cookie_value[kSelectorChars] != '.') {
    return {};
  }
  const std::string_view selector = cookie_value.substr(0, kSelectorChars);
  if (!is_base64url(selector) || !is_base64url(cookie_value.substr(kSelectorChars + 1))) {
    return {};
  }
  return selector;
}

}  // namespace

RememberTokens::RememberTokens(RememberTokenStore& store, const TokenCrypto& crypto,
                               std::int64_t max_age_seconds)
    : store_(store), crypto_(crypto), max_age_seconds_(max_age_seconds) {}

std::string RememberTokens::issue(UserId user_id, std::int64_t now) {
  std::array<std::string, 1> selector;
  std::array<std::string, 1> validator;
  crypto_.random_tokens(selector, kSelectorBytes);
  crypto_.random_tokens(validator, kValidatorBytes);
  std::string token = selector[0] + "." + validator[0];
  store_.insert(RememberTokenRecord{selector[0], crypto_.remember_hash(token), user_id,
                                    now + max_age_seconds_, 0, now});
  return token;
}

std::optional<RememberTokenRecord> RememberTokens::possessed(std::string_view cookie_value) {
  const std::string_view selector = selector_of(cookie_value);
  if (selector.empty()) {
    return std::nullopt;
  }
  auto record = store_.find(selector);
  if (!record || !crypto_.remember_hash_matches(cookie_value, record->validator_hash)) {
    return std::nullopt;
  }
  return record;
}

RememberResult RememberTokens::judge(const RememberTokenRecord& record, std::int64_t now) {
  if (record.expires_at <= now) {
    store_.remove(record.selector);
    return {};
  }
  if (record.used_at != 0) {
    if (now - record.used_at <= kReuseGraceSeconds) {
      return {RememberCheck::Superseded, record.user_id, record.selector};
    }
    return {RememberCheck::Reused, record.user_id, record.selector};
  }
  return {RememberCheck::Valid, record.user_id, record.selector};
}

RememberResult RememberTokens::check(std::string_view cookie_value, std::int64_t now) {
  const auto record = possessed(cookie_value);
  return record ? judge(*record, now) : RememberResult{};
}

void RememberTokens::bound(UserId user_id, std::int64_t now) {
  store_.trim_for_user(user_id, kMaxRememberTokensPerUser, now);
}

bool RememberTokens::claim(const RememberResult& valid, std::int64_t now) {
  return valid.check == RememberCheck::Valid && store_.mark_used(valid.selector, now);
}

void RememberTokens::withdraw(std::string_view issued_cookie_value) {
  if (const std::string_view selector = selector_of(issued_cookie_value); !selector.empty()) {
    store_.remove(selector);
  }
}

RememberResult RememberTokens::give_up(std::string_view cookie_value, std::int64_t now) {
  const auto record = possessed(cookie_value);
  if (!record) {
    return {};
  }
  const RememberResult result = judge(*record, now);
  if (result.check == RememberCheck::Valid && !store_.remove_unused(record->selector)) {
    // A parallel request exchanged it meanwhile: the used row stays as the theft signal.
    return {RememberCheck::Superseded, result.user_id, result.selector};
  }
  return result;
}

}  // namespace authfcgi::domain
