#pragma once

#include <cstdint>
#include <string>

namespace authfcgi::domain {

using UserId = std::int64_t;

// A plain value: what the database holds about one account.
struct User {
  UserId id = 0;
  std::string email;  // stored lower-case
  std::string username;
  std::string password_hash;  // argon2id string from crypto_pwhash_str
};

// Who is logged in, as pages and the log need it: never the password hash.
struct CurrentUser {
  UserId id = 0;
  std::string email;
  std::string username;

  bool operator==(const CurrentUser&) const = default;
};

}  // namespace authfcgi::domain
