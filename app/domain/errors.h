#pragma once

#include <stdexcept>

namespace authfcgi::domain {

// The database (or another backing service) cannot be reached; pages answer 503.
class StorageUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A unique key (email, username) already exists.
class DuplicateKey : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace authfcgi::domain
