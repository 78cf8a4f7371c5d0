#pragma once

#include <cstdint>

namespace authfcgi::domain {

// Wall-clock time in unix seconds. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::int64_t now() const = 0;
};

}  // namespace authfcgi::domain
