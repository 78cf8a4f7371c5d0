#include "crypto/sodium_init.h"

#include <sodium.h>

#include <stdexcept>

namespace authfcgi::crypto {

void sodium_init_or_throw() {
  // 0 on first success, 1 when already initialized; only negative is a failure.
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium could not be initialized");
  }
}

}  // namespace authfcgi::crypto
