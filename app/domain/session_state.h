#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/user.h"

namespace authfcgi::domain {

// What the signed `session` cookie carries. The random session id is the key of the
// logged-in session's row (stored only as a hash); anonymous visitors have a sid too,
// so their CSRF token is bound to something, but no row.
struct SessionState {
  std::string sid;                // base64url of 32 random bytes
  std::optional<UserId> user_id;  // set while logged in
  std::int64_t issued_at = 0;     // unix seconds
  std::string csrf_secret;        // base64url random; form tokens are derived from it
  std::vector<std::string> flashes;

  bool operator==(const SessionState&) const = default;
};

// Pending flashes ride in the session cookie, so they are bounded: a message already pending
// is not added twice, and beyond this many the oldest is dropped. A visitor who never follows
// the redirects cannot grow the cookie past what web servers accept.
inline constexpr std::size_t kMaxPendingFlashes = 5;

void add_flash(SessionState& session, std::string message);

}  // namespace authfcgi::domain
