#include "crypto/key_ring.h"

#include <sodium.h>

#include <cstdint>
#include <stdexcept>

namespace authfcgi::crypto {

namespace {

// crypto_kdf contexts are exactly 8 bytes; subkey ids separate the purposes.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "authfcgi";
constexpr std::uint64_t kSessionSubkey = 1;
constexpr std::uint64_t kCsrfSubkey = 2;
constexpr std::uint64_t kRememberSubkey = 3;
constexpr std::uint64_t kDeviceSubkey = 4;

static_assert(sizeof(Key) == crypto_kdf_KEYBYTES);
static_assert(sizeof(Key) >= crypto_kdf_BYTES_MIN && sizeof(Key) <= crypto_kdf_BYTES_MAX);

void derive(Key& out, std::uint64_t subkey_id, const Key& master) {
  if (crypto_kdf_derive_from_key(out.data(), out.size(), subkey_id, kKdfContext, master.data()) !=
      0) {
    throw std::runtime_error("crypto_kdf_derive_from_key failed");
  }
}

// A template because KeySet is private; it must not allocate, as destructors call it.
template <typename Set>
void wipe(Set& set) {
  for (Key* key : {&set.session, &set.csrf, &set.remember, &set.device}) {
    sodium_memzero(key->data(), key->size());
  }
}

}  // namespace

KeyRing::KeyRing(std::string_view secret, const std::vector<std::string_view>& previous_secrets) {
  std::vector<std::string_view> secrets;
  secrets.reserve(previous_secrets.size() + 1);
  secrets.push_back(secret);
  secrets.insert(secrets.end(), previous_secrets.begin(), previous_secrets.end());
  sets_.reserve(secrets.size());
  for (const std::string_view one : secrets) {
    // The secret may be any length; hashing gives the KDF its fixed-size master key.
    Key master{};
    if (crypto_generichash(master.data(), master.size(),
                           reinterpret_cast<const unsigned char*>(one.data()), one.size(), nullptr,
                           0) != 0) {
      throw std::runtime_error("crypto_generichash failed");
    }
    KeySet& set = sets_.emplace_back();
    derive(set.session, kSessionSubkey, master);
    derive(set.csrf, kCsrfSubkey, master);
    derive(set.remember, kRememberSubkey, master);
    derive(set.device, kDeviceSubkey, master);
    sodium_memzero(master.data(), master.size());
  }
}

KeyRing::~KeyRing() {
  for (KeySet& set : sets_) {
    wipe(set);
  }
}

// Moving the vector moves its buffer, so no key bytes are copied that would need wiping; the
// moved-from ring is left empty and its destructor has nothing to do.
KeyRing::KeyRing(KeyRing&& other) noexcept : sets_(std::move(other.sets_)) { other.sets_.clear(); }

KeyRing& KeyRing::operator=(KeyRing&& other) noexcept {
  if (this != &other) {
    for (KeySet& set : sets_) {
      wipe(set);
    }
    sets_ = std::move(other.sets_);
    other.sets_.clear();
  }
  return *this;
}

namespace {

const Key& key_of(const auto& set, KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::Session:
      return set.session;
    case KeyPurpose::Csrf:
      return set.csrf;
    case KeyPurpose::Remember:
      return set.remember;
    case KeyPurpose::Device:
      return set.device;
  }
  throw std::logic_error("unknown key purpose");
}

}  // namespace

const Key& KeyRing::signing_key(KeyPurpose purpose) const {
  if (sets_.empty()) {
    throw std::logic_error("KeyRing used after move");
  }
  return key_of(sets_.front(), purpose);
}

std::vector<const Key*> KeyRing::verification_keys(KeyPurpose purpose) const {
  std::vector<const Key*> keys;
  keys.reserve(sets_.size());
  for (const KeySet& set : sets_) {
    keys.push_back(&key_of(set, purpose));
  }
  return keys;
}

}  // namespace authfcgi::crypto
