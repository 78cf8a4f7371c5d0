#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "domain/user.h"

namespace authfcgi::domain {

// Server-side rows of logged-in sessions, keyed by a hash of the session id (never the id).
// One instance per thread. Every method throws StorageUnavailable when the database is down.
class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual void create(std::string_view sid_hash, UserId user_id, std::int64_t expires_at) = 0;
  // The row's user, in one round trip; nullopt when the row is gone, expired at `now`, or its
  // user was deleted.
  [[nodiscard]] virtual std::optional<CurrentUser> find_user(std::string_view sid_hash,
                                                             std::int64_t now) = 0;
  virtual void remove(std::string_view sid_hash) = 0;
  virtual void remove_for_user(UserId user_id) = 0;
  // Deletes the user's rows expired at `now` and all but the `keep` most recently created.
  virtual void trim_for_user(UserId user_id, std::size_t keep, std::int64_t now) = 0;
  // Deletes up to max_rows rows of any user expired at `now`; how many (housekeeping).
  virtual std::size_t prune(std::int64_t now, std::size_t max_rows) = 0;
};

}  // namespace authfcgi::domain
