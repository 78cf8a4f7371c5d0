#include "crypto/hmac.h"

#include <sodium.h>

#include <stdexcept>

namespace authfcgi::crypto {

namespace {

const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

static_assert(sizeof(Mac) == crypto_auth_hmacsha256_BYTES);
static_assert(sizeof(Key) == crypto_auth_hmacsha256_KEYBYTES);

}  // namespace

Mac hmac_sign(const Key& key, std::string_view message) {
  Mac mac{};
  if (crypto_auth_hmacsha256(mac.data(), bytes_of(message), message.size(), key.data()) != 0) {
    throw std::runtime_error("crypto_auth_hmacsha256 failed");
  }
  return mac;
}

bool hmac_verify(const Key& key, std::string_view message, std::span<const unsigned char> mac) {
  if (mac.size() != crypto_auth_hmacsha256_BYTES) {
    return false;
  }
  return crypto_auth_hmacsha256_verify(mac.data(), bytes_of(message), message.size(), key.data()) ==
         0;
}

bool hmac_verify_any(const KeyRing& keys, KeyPurpose purpose, std::string_view message,
                     std::span<const unsigned char> mac) {
  for (const Key* key : keys.verification_keys(purpose)) {
    if (hmac_verify(*key, message, mac)) {
      return true;
    }
  }
  return false;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  if (crypto_hash_sha256(digest.data(), bytes_of(data), data.size()) != 0) {
    throw std::runtime_error("crypto_hash_sha256 failed");
  }
  std::string hex(digest.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  hex.pop_back();  // sodium_bin2hex writes a terminating NUL
  return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace authfcgi::crypto
