#include "crypto/sodium_password_hasher.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <stdexcept>
#include <string>

#include "crypto/sodium_init.h"

namespace authfcgi::crypto {
namespace {

// The cheapest argon2id cost libsodium accepts, so the real hasher runs in milliseconds.
class SodiumPasswordHasherTest : public ::testing::Test {
 protected:
  void SetUp() override { sodium_init_or_throw(); }
  SodiumPasswordHasher hasher_{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
};

TEST_F(SodiumPasswordHasherTest, HashVerifiesTheRightPasswordOnly) {
  const std::string hash = hasher_.hash("correct horse");
  EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
  EXPECT_TRUE(hasher_.verify(hash, "correct horse"));
  EXPECT_FALSE(hasher_.verify(hash, "correct horsE"));
  EXPECT_FALSE(hasher_.verify(hash, ""));
}

TEST_F(SodiumPasswordHasherTest, SamePasswordGetsDifferentSalts) {
  EXPECT_NE(hasher_.hash("pw"), hasher_.hash("pw"));
}

TEST_F(SodiumPasswordHasherTest, PasswordsWithNulAndNonAsciiBytesWork) {
  const std::string password("a\0b\xC3\xA9", 5);
  const std::string hash = hasher_.hash(password);
  EXPECT_TRUE(hasher_.verify(hash, password));
  EXPECT_FALSE(hasher_.verify(hash, "a"));
}

TEST_F(SodiumPasswordHasherTest, MalformedHashesDoNotVerify) {
  const std::string hash = hasher_.hash("pw");
  EXPECT_FALSE(hasher_.verify("", "pw"));
  EXPECT_FALSE(hasher_.verify("not a hash", "pw"));
  EXPECT_FALSE(hasher_.verify(hash.substr(0, hash.size() - 3), "pw"));
  EXPECT_FALSE(hasher_.verify(hash + std::string(1, '\0'), "pw"));
  EXPECT_FALSE(hasher_.verify(std::string(500, 'x'), "pw"));
}

TEST_F(SodiumPasswordHasherTest, NeedsRehashOnlyWhenTheCostChanged) {
  const std::string hash = hasher_.hash("pw");
  EXPECT_FALSE(hasher_.needs_rehash(hash));
  const SodiumPasswordHasher costlier(crypto_pwhash_OPSLIMIT_MIN + 1, crypto_pwhash_MEMLIMIT_MIN);
  EXPECT_TRUE(costlier.needs_rehash(hash));
  EXPECT_TRUE(costlier.verify(hash, "pw"));  // an old hash still logs in, then gets upgraded
  EXPECT_TRUE(hasher_.needs_rehash("garbage"));
}

TEST_F(SodiumPasswordHasherTest, OverlongPasswordsNeverReachArgon2) {
  const std::string longest(SodiumPasswordHasher::kMaxPasswordBytes, 'p');
  const std::string hash = hasher_.hash(longest);
  EXPECT_TRUE(hasher_.verify(hash, longest));
  const std::string too_long = longest + "p";
  EXPECT_THROW((void)hasher_.hash(too_long), std::invalid_argument);
  EXPECT_FALSE(hasher_.verify(hash, too_long));
}

TEST(SodiumPasswordHasherCost, RejectsCostBelowLibsodiumMinimum) {
  EXPECT_THROW(SodiumPasswordHasher(0, crypto_pwhash_MEMLIMIT_MIN), std::invalid_argument);
  EXPECT_THROW(SodiumPasswordHasher(crypto_pwhash_OPSLIMIT_MIN, 1024), std::invalid_argument);
}

}  // namespace
}  // namespace authfcgi::crypto
