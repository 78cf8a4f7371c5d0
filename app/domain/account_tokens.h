#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/user.h"

namespace authfcgi::domain {

// What the link of a mail may do.
enum class TokenPurpose : std::uint8_t { ConfirmAccount = 1, ResetPassword = 2, ChangeEmail = 3 };

struct AccountToken {
  UserId user_id = 0;
  TokenPurpose purpose = TokenPurpose::ConfirmAccount;
  std::string new_email;  // ChangeEmail: the address to change to
  std::int64_t expires_at = 0;
  // ResetPassword: the digest of the password hash it was issued for. Any change of the
  // password (a reset, a change, authctl user passwd) voids the token.
  std::string password_digest;
};

// The table account_tokens: only a digest of each token (the token is in the mail alone).
// One instance per thread; throws StorageUnavailable.
class AccountTokenStore {
 public:
  virtual ~AccountTokenStore() = default;
  virtual void add(std::string_view digest, const AccountToken& token) = 0;
  [[nodiscard]] virtual std::optional<AccountToken> find(std::string_view digest) = 0;
  // Deletes the token; true for the one caller that did (a token is used once).
  virtual bool take(std::string_view digest) = 0;
  // Deletes the user's tokens of one purpose (a reset's when the password changes).
  virtual void remove_for_user(UserId user_id, TokenPurpose purpose) = 0;
  // Deletes up to max_rows tokens expired at `now`; how many (housekeeping).
  virtual std::size_t prune(std::int64_t now, std::size_t max_rows) = 0;
};

}  // namespace authfcgi::domain
