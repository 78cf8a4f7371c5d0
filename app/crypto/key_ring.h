#pragma once

#include <array>
#include <string_view>
#include <vector>

namespace authfcgi::crypto {

enum class KeyPurpose { Session, Csrf, Remember, Device };

using Key = std::array<unsigned char, 32>;

// Per-purpose keys derived from the configured secret (current) and from previous secrets
// (verification only, for rotation). Keys are wiped on destruction. Immutable, thread-safe.
class KeyRing {
 public:
  KeyRing(std::string_view secret, const std::vector<std::string_view>& previous_secrets);
  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;
  KeyRing(KeyRing&&) noexcept;
  KeyRing& operator=(KeyRing&&) noexcept;

  // The key to sign with.
  [[nodiscard]] const Key& signing_key(KeyPurpose purpose) const;
  // The current key first, then the keys derived from each previous secret.
  [[nodiscard]] std::vector<const Key*> verification_keys(KeyPurpose purpose) const;

 private:
  struct KeySet {
    Key session{};
    Key csrf{};
    Key remember{};
    Key device{};
  };
  std::vector<KeySet> sets_;  // [0] is the current secret
};

}  // namespace authfcgi::crypto
