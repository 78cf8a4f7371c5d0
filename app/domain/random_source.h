#pragma once

#include <cstddef>
#include <span>

namespace authfcgi::domain {

// Cryptographically secure random bytes. Thread-safe; never fails.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<unsigned char> out) const = 0;
};

}  // namespace authfcgi::domain
