#pragma once

namespace authfcgi::crypto {

// Initializes libsodium once per process (safe to call again). Throws std::runtime_error when
// libsodium cannot start, which the composition roots treat as fatal.
void sodium_init_or_throw();

}  // namespace authfcgi::crypto
