#pragma once

#include <cstdint>

#include "domain/random_source.h"

namespace authfcgi::testing {

// Deterministic bytes (a counter), different on every call, so tests can tell tokens apart.
class FakeRandomSource : public domain::RandomSource {
 public:
  void fill(std::span<unsigned char> out) const override {
    for (auto& byte : out) {
      byte = static_cast<unsigned char>(counter_++ * 131U + 7U);
    }
  }

 private:
  mutable std::uint32_t counter_ = 0;
};

}  // namespace authfcgi::testing
