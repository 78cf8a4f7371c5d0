#include "crypto/sodium_random_source.h"

#include <sodium.h>

namespace authfcgi::crypto {

void SodiumRandomSource::fill(std::span<unsigned char> out) const {
  randombytes_buf(out.data(), out.size());
}

}  // namespace authfcgi::crypto
