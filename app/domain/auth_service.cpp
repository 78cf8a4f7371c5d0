#include "domain/auth_service.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace authfcgi::domain {
namespace {

// The throttle table's key column holds 191 characters; a longer (many-byte UTF-8) email is
// cut, which can only make two such accounts share one counter, never free one from it.
constexpr std::size_t kMaxKeyBytes = 191;

std::string throttle_key(std::string_view kind, std::string_view value) {
  std::string key(kind);
  key.push_back(':');
  std::size_t keep = std::min(value.size(), kMaxKeyBytes - key.size());
  // Cut on a character boundary: half a UTF-8 sequence would be refused by the database.
  while (keep < value.size() && keep > 0 &&
         (static_cast<unsigned char>(value[keep]) & 0xC0U) == 0x80U) {
    --keep;
  }
  key.append(value.substr(0, keep));
  return key;
}

}  // namespace

std::string make_dummy_hash(const PasswordHasher& hasher) {
  constexpr std::string_view kDummyPassword = "authfcgi: no such account";
  return hasher.hash(kDummyPassword);
}

AuthService::AuthService(UserRepository& users, const PasswordHasher& hasher,
                         LoginThrottling throttling, AuthEventSink& events, const Clock& clock,
                         std::string dummy_hash)
    : users_(users),
      hasher_(hasher),
      throttling_(throttling),
      events_(events),
      clock_(clock),
      dummy_hash_(std::move(dummy_hash)) {
  if (dummy_hash_.empty()) {
    throw std::invalid_argument("AuthService needs a dummy hash");
  }
}

bool AuthService::verify(const std::optional<User>& user, std::string_view password) const {
  if (!user) {
    // Same cost as a real verify so unknown emails take equal time; the result is ignored.
    static_cast<void>(hasher_.verify(dummy_hash_, password));
    return false;
  }
  return hasher_.verify(user->password_hash, password);
}

LoginOutcome AuthService::authenticate(std::string_view email, std::string_view password,
                                       std::string_view client_address) {
  const std::int64_t now = clock_.now();
  const std::string account_key = throttle_key("account", email);
  const std::string address_key = throttle_key("address", client_address);

  // Checked before the password, and the same for known and unknown emails, so a lock-out
  // reveals nothing about which accounts exist.
  const ThrottleCounters checked = throttling_.store.get(account_key, address_key);
  const auto account_wait = decide_throttle(checked.account, now, throttling_.account);
  const auto address_wait = decide_throttle(checked.address, now, throttling_.address);
  if (!account_wait.allowed || !address_wait.allowed) {
    record_event(AuthEventKind::LoginThrottled, email, client_address);
    return {LoginResult::Throttled, std::nullopt,
            std::max(account_wait.retry_after_seconds, address_wait.retry_after_seconds)};
  }

  // The account's failure is counted before the password is checked (and forgotten again on
  // success), and the count tells whether attempts sent in parallel got past the check first:
  // a burst gets exactly as many tries as a sequence would.
  const ThrottleState counted =
      throttling_.store.record_failure(account_key, now, throttling_.account.forget_after_seconds);
  const auto burst_wait =
      decide_counted_attempt(checked.account, counted, now, throttling_.account);
  if (!burst_wait.allowed) {
    record_event(AuthEventKind::LoginThrottled, email, client_address);
    return {LoginResult::Throttled, std::nullopt, burst_wait.retry_after_seconds};
  }

  const std::optional<User> user = users_.find_by_email(email);
  if (!verify(user, password)) {
    // The address's budget (shared by every account tried from it) is counted after the check:
    // parallel attempts may exceed it by the number of hashes in flight, never a single
    // account's.
    throttling_.store.record_failure(address_key, now, throttling_.address.forget_after_seconds);
    record_event(AuthEventKind::LoginFailed, email, client_address);
    return {LoginResult::InvalidCredentials, std::nullopt, 0};
  }

  // A success clears the account's failures, not the address's: one known password must not
  // buy an address fresh guesses at other accounts.
  throttling_.store.reset(account_key);
  User logged_in = *user;
  if (hasher_.needs_rehash(logged_in.password_hash)) {
    // Only if the hash is still the one just verified: a password changed meanwhile (authctl
    // user passwd) must not be overwritten with a hash of the old one.
    std::string upgraded = hasher_.hash(password);
    if (users_.replace_password_hash(logged_in.id, logged_in.password_hash, upgraded)) {
      logged_in.password_hash = std::move(upgraded);
    }
  }
  record_event(AuthEventKind::LoginOk, email, client_address);
  return {LoginResult::Success, std::move(logged_in), 0};
}

void AuthService::record_event(AuthEventKind kind, std::string_view email,
                               std::string_view client_address) {
  events_.record(AuthEvent{kind, clock_.now(), std::string(client_address), std::string(email)});
}

}  // namespace authfcgi::domain
