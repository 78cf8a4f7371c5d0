#include "crypto/hmac.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/key_ring.h"

namespace authfcgi::crypto {
namespace {

constexpr std::string_view kSecret = "test-secret-test-secret-test-secret-0001";

class Hmac : public ::testing::Test {
 protected:
  KeyRing ring_{kSecret, {}};
  const Key& key_ = ring_.signing_key(KeyPurpose::Session);
};

TEST_F(Hmac, SignedMessageVerifies) {
  const Mac mac = hmac_sign(key_, "hello");
  EXPECT_TRUE(hmac_verify(key_, "hello", mac));
}

TEST_F(Hmac, KnownAnswerMatchesRfc4231Case2) {
  // RFC 4231 test case 2 uses a 4-byte key; libsodium's HMAC takes 32-byte keys, so use a
  // key of "Jefe" padded with zeros, which HMAC treats identically.
  Key jefe{};
  jefe[0] = 'J';
  jefe[1] = 'e';
  jefe[2] = 'f';
  jefe[3] = 'e';
  const Mac mac = hmac_sign(jefe, "what do ya want for nothing?");
  const std::string hex = [&mac] {
    std::string out;
    for (const unsigned char byte : mac) {
      constexpr char kHex[] = "0123456789abcdef";
      out += kHex[byte >> 4U];
      out += kHex[byte & 0x0FU];
    }
    return out;
  }();
  EXPECT_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(Hmac, TamperedMessageOrMacFails) {
  Mac mac = hmac_sign(key_, "user=7");
  EXPECT_FALSE(hmac_verify(key_, "user=8", mac));
  for (std::size_t i = 0; i < mac.size(); ++i) {
    Mac tampered = mac;
    tampered[i] ^= 0x01U;
    EXPECT_FALSE(hmac_verify(key_, "user=7", tampered)) << "byte " << i;
  }
}

TEST_F(Hmac, OtherKeyFails) {
  const Mac mac = hmac_sign(key_, "hello");
  EXPECT_FALSE(hmac_verify(ring_.signing_key(KeyPurpose::Csrf), "hello", mac));
}

TEST_F(Hmac, WrongLengthMacFails) {
  const Mac mac = hmac_sign(key_, "hello");
  EXPECT_FALSE(hmac_verify(key_, "hello", std::span<const unsigned char>(mac).first(31)));
  EXPECT_FALSE(hmac_verify(key_, "hello", std::span<const unsigned char>{}));
}

TEST(Sha256Hex, MatchesKnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

}  // namespace
}  // namespace authfcgi::crypto
