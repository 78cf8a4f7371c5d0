#pragma once

#include <cstddef>

#include "domain/pool_status.h"

namespace authfcgi::testing {

// The pool's counters in memory: what App counts, and what /auth/status reads.
class FakePool : public domain::PoolMeter, public domain::PoolStatusSource {
 public:
  void count(domain::PoolEvent event) noexcept override {
    ++status.events[static_cast<std::size_t>(event)];
  }
  [[nodiscard]] domain::PoolStatus read() const override { return status; }

  domain::PoolStatus status;
};

}  // namespace authfcgi::testing
