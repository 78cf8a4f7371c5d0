#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "domain/clock.h"

namespace authfcgi::testing {

// Simulated time: tests set and advance it; nothing reads the real clock. A pause does not
// advance it; it counts, and yields for a moment so that other threads of a test can finish
// the attempts this one waits for.
class FakeClock : public domain::Clock {
 public:
  explicit FakeClock(std::int64_t start = 1'700'000'000) : now_(start) {}
  std::int64_t now() const override { return now_.load(); }
  void pause(std::chrono::milliseconds /*duration*/) const override {
    pauses_.fetch_add(1);
    now_.fetch_add(seconds_per_pause_.load());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // From now on each pause also moves time on (a store that blocks for seconds per try).
  void advance_on_pause(std::int64_t seconds) { seconds_per_pause_.store(seconds); }
  void set(std::int64_t now) { now_.store(now); }
  void advance(std::int64_t seconds) { now_.fetch_add(seconds); }
  [[nodiscard]] std::int64_t pauses() const { return pauses_.load(); }

 private:
  mutable std::atomic<std::int64_t> now_;
  mutable std::atomic<std::int64_t> pauses_{0};
  std::atomic<std::int64_t> seconds_per_pause_{0};
};

}  // namespace authfcgi::testing
