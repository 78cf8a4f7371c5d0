#include "crypto/sodium_token_crypto.h"

#include <vector>

#include "crypto/base64url.h"
#include "crypto/hmac.h"

namespace authfcgi::crypto {
namespace {

std::string to_hex(const Mac& mac) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(mac.size() * 2);
  for (const unsigned char byte : mac) {
    hex.push_back(kDigits[byte >> 4U]);
    hex.push_back(kDigits[byte & 0x0FU]);
  }
  return hex;
}

// 16 bytes of the HMAC name an account among a browser's few markers; the cookie stays short.
std::string account_tag(const Key& key, std::string_view email) {
  // Prefixed, so that no account tag is ever the MAC of a cookie the same key signs.
  std::string message = "account-tag:";
  message += email;
  const Mac mac = hmac_sign(key, message);
  return base64url_encode(std::span<const unsigned char>(mac.data(), 16));
}

}  // namespace

SodiumTokenCrypto::SodiumTokenCrypto(const KeyRing& keys, const domain::RandomSource& random)
    : keys_(keys), random_(random) {}

void SodiumTokenCrypto::random_tokens(std::span<std::string> out, std::size_t bytes_each) const {
  // One draw for all of them: a new session needs two secrets, and getrandom is a system call.
  std::vector<unsigned char> bytes(out.size() * bytes_each);
  random_.fill(bytes);
  const std::span<const unsigned char> all(bytes);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = base64url_encode(all.subspan(i * bytes_each, bytes_each));
  }
}

std::string SodiumTokenCrypto::remember_hash(std::string_view token) const {
  return to_hex(hmac_sign(keys_.signing_key(KeyPurpose::Remember), token));
}

bool SodiumTokenCrypto::remember_hash_matches(std::string_view token,
                                              std::string_view stored) const {
  // Tokens issued before a key rotation stay valid: try the previous keys too.
  for (const Key* key : keys_.verification_keys(KeyPurpose::Remember)) {
    if (constant_time_equal(to_hex(hmac_sign(*key, token)), stored)) {
      return true;
    }
  }
  return false;
}

std::string SodiumTokenCrypto::session_id_digest(std::string_view sid) const {
  return sha256_hex(sid);
}

bool SodiumTokenCrypto::digest_matches(std::string_view value, std::string_view digest) const {
  return constant_time_equal(sha256_hex(value), digest);
}

std::string SodiumTokenCrypto::device_account_tag(std::string_view email) const {
  return account_tag(keys_.signing_key(KeyPurpose::Device), email);
}

bool SodiumTokenCrypto::device_account_tag_matches(std::string_view email,
                                                   std::string_view tag) const {
  // Markers issued before a key rotation stay valid: try the previous keys too.
  for (const Key* key : keys_.verification_keys(KeyPurpose::Device)) {
    if (constant_time_equal(account_tag(*key, email), tag)) {
      return true;
    }
  }
  return false;
}

}  // namespace authfcgi::crypto
