#pragma once

#include <cstdint>

#include "domain/clock.h"

namespace authfcgi::testing {

// Simulated time: tests set and advance it; nothing reads the real clock.
class FakeClock : public domain::Clock {
 public:
  explicit FakeClock(std::int64_t start = 1'700'000'000) : now_(start) {}
  std::int64_t now() const override { return now_; }
  void set(std::int64_t now) { now_ = now; }
  void advance(std::int64_t seconds) { now_ += seconds; }

 private:
  std::int64_t now_;
};

}  // namespace authfcgi::testing
