#pragma once

#include <cstdint>

#include "domain/clock.h"

namespace authfcgi::crypto {

// The real wall clock (std::chrono::system_clock) in unix seconds. Thread-safe.
class SystemClock final : public domain::Clock {
 public:
  [[nodiscard]] std::int64_t now() const override;
  void pause(std::chrono::milliseconds duration) const override;
};

}  // namespace authfcgi::crypto
