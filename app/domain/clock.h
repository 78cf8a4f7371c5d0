#pragma once

#include <chrono>
#include <cstdint>

namespace authfcgi::domain {

// Wall-clock time in unix seconds. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::int64_t now() const = 0;
  // Blocks the calling thread (an attempt queued behind others on the same throttle key).
  virtual void pause(std::chrono::milliseconds duration) const = 0;
};

}  // namespace authfcgi::domain
