#include "crypto/sodium_password_hasher.h"

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace authfcgi::crypto {

namespace {

using HashBuffer = std::array<char, crypto_pwhash_STRBYTES>;

// crypto_pwhash_str_* take NUL-terminated hashes; a hash that does not fit, or carries a NUL
// of its own, is not one of ours.
bool to_c_string(std::string_view encoded_hash, HashBuffer& out) {
  if (encoded_hash.size() >= out.size() || encoded_hash.find('\0') != std::string_view::npos) {
    return false;
  }
  out.fill('\0');
  encoded_hash.copy(out.data(), encoded_hash.size());
  return true;
}

}  // namespace

SodiumPasswordHasher::SodiumPasswordHasher(std::uint64_t opslimit, std::size_t memlimit)
    : opslimit_(opslimit), memlimit_(memlimit) {
  if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > crypto_pwhash_OPSLIMIT_MAX ||
      memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > crypto_pwhash_MEMLIMIT_MAX) {
    throw std::invalid_argument("argon2id cost outside libsodium's limits");
  }
}

std::string SodiumPasswordHasher::hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) {
    throw std::invalid_argument("password too long");
  }
  HashBuffer out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), opslimit_, memlimit_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("argon2id hashing failed (out of memory?)");
  }
  return std::string(out.data());
}

bool SodiumPasswordHasher::verify(std::string_view encoded_hash, std::string_view password) const {
  HashBuffer buffer{};
  if (password.size() > kMaxPasswordBytes || !to_c_string(encoded_hash, buffer)) {
    return false;
  }
  return crypto_pwhash_str_verify(buffer.data(), password.data(), password.size()) == 0;
}

bool SodiumPasswordHasher::needs_rehash(std::string_view encoded_hash) const {
  HashBuffer buffer{};
  if (!to_c_string(encoded_hash, buffer)) {
    return true;
  }
  // -1 (not an argon2id hash at all) also calls for a new hash.
  return crypto_pwhash_str_needs_rehash(buffer.data(), opslimit_, memlimit_) != 0;
}

}  // namespace authfcgi::crypto
