#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/user.h"

namespace authfcgi::domain {

struct RememberTokenRecord {
  std::string selector;
  std::string validator_hash;  // hex or base64url of a hash of the validator
  UserId user_id = 0;
  std::int64_t expires_at = 0;
  std::int64_t used_at = 0;    // unix seconds when it was exchanged for a new token; 0: unused
  std::int64_t issued_at = 0;  // unix seconds; 0 for tokens issued before it was recorded
};

// "Remember me" tokens: a public selector plus the hash of a secret validator.
// One instance per thread. Every method throws StorageUnavailable when the database is down.
class RememberTokenStore {
 public:
  virtual ~RememberTokenStore() = default;
  virtual void insert(const RememberTokenRecord& record) = 0;
  // nullopt when no row has this selector.
  [[nodiscard]] virtual std::optional<RememberTokenRecord> find(std::string_view selector) = 0;
  // Marks the token used at `now`. True only for the one caller that changed it from unused,
  // so two requests racing with the same token cannot both exchange it.
  virtual bool mark_used(std::string_view selector, std::int64_t now) = 0;
  virtual void remove(std::string_view selector) = 0;
  // Deletes the token only while it is unused. False when it was used (or gone) meanwhile.
  virtual bool remove_unused(std::string_view selector) = 0;
  virtual void remove_for_user(UserId user_id) = 0;
  // Deletes the user's rows expired at `now`; of the unused tokens all but the `keep` most
  // recently issued; of the used ones all but the `keep` that had been live longest before
  // their use (a token exchanged moments after its issue was hardly ever copied).
  virtual void trim_for_user(UserId user_id, std::size_t keep, std::int64_t now) = 0;
  // Deletes up to max_rows rows of any user expired at `now`, used ones too (an expired token
  // logs nobody in and is no theft signal); how many (housekeeping).
  virtual std::size_t prune(std::int64_t now, std::size_t max_rows) = 0;
};

}  // namespace authfcgi::domain
