#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"

namespace authfcgi::crypto {

using Mac = std::array<unsigned char, 32>;

// HMAC-SHA-256 (libsodium crypto_auth_hmacsha256).
[[nodiscard]] Mac hmac_sign(const Key& key, std::string_view message);
// Constant-time comparison; false when mac is not exactly 32 bytes.
[[nodiscard]] bool hmac_verify(const Key& key, std::string_view message,
                               std::span<const unsigned char> mac);

// hmac_verify with each of the purpose's keys, the current one first: what was signed before
// a secret rotation still verifies.
[[nodiscard]] bool hmac_verify_any(const KeyRing& keys, KeyPurpose purpose,
                                   std::string_view message, std::span<const unsigned char> mac);

// SHA-256 of data as lower-case hex: how session ids and remember validators are stored.
[[nodiscard]] std::string sha256_hex(std::string_view data);

// Constant-time equality of two strings of equal length (false when lengths differ).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace authfcgi::crypto
