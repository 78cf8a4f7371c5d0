#include "crypto/key_ring.h"

#include <gtest/gtest.h>

#include <utility>

namespace authfcgi::crypto {
namespace {

constexpr std::string_view kSecret = "test-secret-test-secret-test-secret-0001";
constexpr std::string_view kOldSecret = "older-secret-older-secret-older-secret-01";

TEST(KeyRing, PurposesGetDifferentKeys) {
  const KeyRing ring(kSecret, {});
  EXPECT_NE(ring.signing_key(KeyPurpose::Session), ring.signing_key(KeyPurpose::Csrf));
  EXPECT_NE(ring.signing_key(KeyPurpose::Session), ring.signing_key(KeyPurpose::Remember));
  EXPECT_NE(ring.signing_key(KeyPurpose::Csrf), ring.signing_key(KeyPurpose::Remember));
}

TEST(KeyRing, SameSecretGivesSameKeysAndDifferentSecretsDiffer) {
  const KeyRing a(kSecret, {});
  const KeyRing b(kSecret, {});
  const KeyRing c(kOldSecret, {});
  for (const auto purpose : {KeyPurpose::Session, KeyPurpose::Csrf, KeyPurpose::Remember}) {
    EXPECT_EQ(a.signing_key(purpose), b.signing_key(purpose));
    EXPECT_NE(a.signing_key(purpose), c.signing_key(purpose));
  }
}

TEST(KeyRing, KeysAreNotTheSecretItself) {
  const KeyRing ring(kSecret, {});
  const Key& key = ring.signing_key(KeyPurpose::Session);
  EXPECT_NE(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
            kSecret.substr(0, key.size()));
}

TEST(KeyRing, VerificationKeysAreCurrentFirstThenPrevious) {
  const KeyRing old_ring(kOldSecret, {});
  const KeyRing ring(kSecret, {kOldSecret});
  for (const auto purpose : {KeyPurpose::Session, KeyPurpose::Csrf, KeyPurpose::Remember}) {
    const auto keys = ring.verification_keys(purpose);
    ASSERT_EQ(keys.size(), 2U);
    EXPECT_EQ(*keys[0], ring.signing_key(purpose));
    EXPECT_EQ(*keys[1], old_ring.signing_key(purpose));
  }
}

TEST(KeyRing, MovedRingKeepsTheKeysAndMovedFromIsSafe) {
  KeyRing original(kSecret, {kOldSecret});
  const Key expected = original.signing_key(KeyPurpose::Csrf);
  KeyRing moved(std::move(original));
  EXPECT_EQ(moved.signing_key(KeyPurpose::Csrf), expected);
  EXPECT_EQ(moved.verification_keys(KeyPurpose::Csrf).size(), 2U);
  // The moved-from ring verifies nothing and can be assigned to and destroyed.
  EXPECT_TRUE(
      original.verification_keys(KeyPurpose::Csrf).empty());  // NOLINT(bugprone-use-after-move)
  KeyRing other(kOldSecret, {});
  other = std::move(moved);
  EXPECT_EQ(other.signing_key(KeyPurpose::Csrf), expected);
  original = std::move(other);
  EXPECT_EQ(original.signing_key(KeyPurpose::Csrf), expected);
}

}  // namespace
}  // namespace authfcgi::crypto
