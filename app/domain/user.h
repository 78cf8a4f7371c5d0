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

}  // namespace authfcgi::domain
