#pragma once

#include <span>

#include "domain/random_source.h"

namespace authfcgi::crypto {

// libsodium's randombytes_buf (the kernel CSPRNG). Thread-safe after sodium_init_or_throw().
class SodiumRandomSource final : public domain::RandomSource {
 public:
  void fill(std::span<unsigned char> out) const override;
};

}  // namespace authfcgi::crypto
