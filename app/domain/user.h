#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace authfcgi::domain {

using UserId = std::int64_t;

// A plain value: what the database holds about one account.
struct User {
  UserId id = 0;
  std::string email;  // stored lower-case
  std::string username;
  std::string password_hash;        // argon2id string from crypto_pwhash_str
  std::vector<std::string> groups;  // sorted; filled by UserRepository::list only
  bool confirmed = true;  // false from registration until the confirmation link is followed
};

// Who is logged in, as pages and the log need it: never the password hash.
struct CurrentUser {
  UserId id = 0;
  std::string email;
  std::string username;
  std::vector<std::string> groups;  // sorted
  bool email_confirmed = true;      // an unconfirmed user is refused by the gateway

  bool operator==(const CurrentUser&) const = default;
};

}  // namespace authfcgi::domain
