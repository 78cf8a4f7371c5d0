#include "domain/auth_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "crypto/key_ring.h"
#include "crypto/sodium_random_source.h"
#include "crypto/sodium_token_crypto.h"
#include "domain/errors.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_login_throttle_store.h"
#include "mocks/mocks.h"

namespace authfcgi::domain {
namespace {

using ::testing::_;
using ::testing::Field;
using ::testing::Return;
using ::testing::StrictMock;

constexpr std::string_view kSecret = "test-secret-of-at-least-32-bytes-0123456789";

ThrottleKey pair_key(const std::string& email, const std::string& address) {
  return {ThrottleScope::Pair, email, address, {}};
}
ThrottleKey address_key(const std::string& address) {
  return {ThrottleScope::Address, {}, address, {}};
}
ThrottleKey account_key(const std::string& email) {
  return {ThrottleScope::Account, email, {}, {}};
}

// The password check and what it counts, against the in-memory throttle table. Strict mocks
// for the users table and the hasher: a throttled attempt must not touch either.
class AuthServiceTest : public ::testing::Test {
 protected:
  AuthServiceTest() {
    service_ =
        std::make_unique<AuthService>(users_, hasher_, throttle_, events_, clock_, "dummy-hash");
  }

  AttemptSource from(const std::string& email, const std::string& address) {
    return {email, address, std::nullopt};
  }
  // Paul logs in with the right password, and his stored hash is due for an upgrade to
  // "stronger-hash"; the test says what the compare-and-swap finds.
  void expect_right_password_with_outdated_hash() {
    EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
    EXPECT_CALL(hasher_, verify("real-hash", "corn")).WillOnce(Return(true));
    EXPECT_CALL(hasher_, needs_rehash("real-hash")).WillOnce(Return(true));
    EXPECT_CALL(hasher_, hash("corn")).WillOnce(Return("stronger-hash"));
    EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginOk)));
  }
  void add_failures(const ThrottleKey& key, int count, std::int64_t ago = 0) {
    for (int i = 0; i < count; ++i) {
      store_.rows.push_back(
          {key, "earlier", false, clock_.now() - ago, clock_.now() - ago + 24 * 3600});
    }
  }

  StrictMock<testing::MockUserRepository> users_;
  StrictMock<testing::MockPasswordHasher> hasher_;
  StrictMock<testing::MockAuthEventSink> events_;
  testing::FakeLoginThrottleStore store_;
  testing::FakeClock clock_;
  crypto::SodiumRandomSource random_;
  crypto::KeyRing keys_{kSecret, {}};
  crypto::SodiumTokenCrypto token_crypto_{keys_, random_};
  LoginThrottle throttle_{store_, random_, clock_, ThrottleSettings{}};
  std::unique_ptr<AuthService> service_;
  User paul_{7, "paul@example.com", "john", "real-hash", {}};
};

TEST(DummyHash, IsOneHashOfAPasswordNoAccountHas) {
  StrictMock<testing::MockPasswordHasher> hasher;
  EXPECT_CALL(hasher, hash(::testing::Not(::testing::IsEmpty()))).WillOnce(Return("$argon2id$x"));
  EXPECT_EQ(make_dummy_hash(hasher), "$argon2id$x");
}

// Without a dummy hash an unknown email would cost no verify, and answer faster than a known one.
TEST(DummyHash, AServiceWithoutOneIsRefused) {
  StrictMock<testing::MockUserRepository> users;
  StrictMock<testing::MockPasswordHasher> hasher;
  StrictMock<testing::MockAuthEventSink> events;
  testing::FakeLoginThrottleStore store;
  const testing::FakeClock clock;
  crypto::SodiumRandomSource random;
  const crypto::KeyRing keys{kSecret, {}};
  const crypto::SodiumTokenCrypto token_crypto{keys, random};
  LoginThrottle throttle{store, random, clock, ThrottleSettings{}};
  EXPECT_THROW(AuthService(users, hasher, throttle, events, clock, ""), std::invalid_argument);
}

TEST_F(AuthServiceTest, UnknownEmailCostsOneVerifyAgainstTheDummyHash) {
  EXPECT_CALL(users_, find_by_email("nobody@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify("dummy-hash", "corn")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  const auto outcome = service_->authenticate(from("nobody@example.com", "10.0.0.1"), "corn");
  EXPECT_EQ(outcome.result, LoginResult::InvalidCredentials);
  EXPECT_FALSE(outcome.user);
  // Counted like a known account's failure, so the throttle cannot tell them apart either.
  EXPECT_EQ(store_.failures_of(pair_key("nobody@example.com", "10.0.0.1")), 1U);
  EXPECT_EQ(store_.failures_of(address_key("10.0.0.1")), 1U);
  EXPECT_EQ(store_.failures_of(account_key("nobody@example.com")), 1U);
}

TEST_F(AuthServiceTest, DummyHashNeverLogsAnyoneIn) {
  // Even if the dummy verify were to succeed, an unknown email is not a login.
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify("dummy-hash", _)).WillOnce(Return(true));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  EXPECT_EQ(service_->authenticate(from("x@example.com", ""), "dummy").result,
            LoginResult::InvalidCredentials);
}

TEST_F(AuthServiceTest, WrongPasswordCountsAgainstThePairTheAddressAndTheAccount) {
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "wrong")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::account, "paul@example.com")));
  EXPECT_EQ(service_->authenticate(from("paul@example.com", "10.0.0.1"), "wrong").result,
            LoginResult::InvalidCredentials);
  EXPECT_EQ(store_.failures_of(pair_key("paul@example.com", "10.0.0.1")), 1U);
  EXPECT_EQ(store_.failures_of(address_key("10.0.0.1")), 1U);
  EXPECT_EQ(store_.failures_of(account_key("paul@example.com")), 1U);
  for (const auto& row : store_.rows) {
    EXPECT_FALSE(row.pending) << "a resolved attempt leaves no pending mark";
  }
}

TEST_F(AuthServiceTest, RightPasswordSucceedsAndResetsOnlyThePair) {
  add_failures(pair_key("paul@example.com", "10.0.0.1"), 4);
  add_failures(address_key("10.0.0.1"), 4);
  add_failures(account_key("paul@example.com"), 4);
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "corn")).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash("real-hash")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginOk)));
  const auto outcome = service_->authenticate(from("paul@example.com", "10.0.0.1"), "corn");
  ASSERT_EQ(outcome.result, LoginResult::Success);
  EXPECT_EQ(outcome.user->id, 7);
  EXPECT_EQ(store_.failures_of(pair_key("paul@example.com", "10.0.0.1")), 0U);
  // One known password must not buy an address fresh guesses at other accounts, nor reset
  // what many addresses did to the account.
  EXPECT_EQ(store_.failures_of(address_key("10.0.0.1")), 4U);
  EXPECT_EQ(store_.failures_of(account_key("paul@example.com")), 4U);
  EXPECT_TRUE(store_.rows.size() == 8U);
}

TEST_F(AuthServiceTest, OutdatedHashIsUpgradedOnSuccess) {
  expect_right_password_with_outdated_hash();
  EXPECT_CALL(users_, replace_password_hash(7, "real-hash", "stronger-hash"))
      .WillOnce(Return(true));
  const auto outcome = service_->authenticate(from("paul@example.com", ""), "corn");
  ASSERT_EQ(outcome.result, LoginResult::Success);
  EXPECT_EQ(outcome.user->password_hash, "stronger-hash");
}

TEST_F(AuthServiceTest, UpgradeNeverOverwritesAPasswordChangedMeanwhile) {
  expect_right_password_with_outdated_hash();
  // `authctl user passwd` replaced the hash after it was read: the swap finds another hash.
  EXPECT_CALL(users_, replace_password_hash(7, "real-hash", "stronger-hash"))
      .WillOnce(Return(false));
  const auto outcome = service_->authenticate(from("paul@example.com", ""), "corn");
  ASSERT_EQ(outcome.result, LoginResult::Success);
  EXPECT_EQ(outcome.user->password_hash, "real-hash");
}

TEST_F(AuthServiceTest, AWaitingPairIsRefusedEvenTheRightPasswordAndChecksNothing) {
  add_failures(pair_key("paul@example.com", "10.0.0.1"), 5, 10);
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginThrottled)));
  const auto outcome = service_->authenticate(from("paul@example.com", "10.0.0.1"), "corn");
  EXPECT_EQ(outcome.result, LoginResult::Throttled);
  EXPECT_EQ(outcome.retry_after_seconds, 50);
  EXPECT_FALSE(outcome.user);
  EXPECT_EQ(store_.rows.size(), 5U) << "a refused attempt is not a failure";
}

TEST_F(AuthServiceTest, UnknownEmailIsThrottledExactlyLikeAKnownOne) {
  add_failures(pair_key("nobody@example.com", "10.0.0.1"), 5);
  add_failures(pair_key("paul@example.com", "10.0.0.1"), 5);
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginThrottled))).Times(2);
  const auto unknown = service_->authenticate(from("nobody@example.com", "10.0.0.1"), "corn");
  const auto known = service_->authenticate(from("paul@example.com", "10.0.0.1"), "corn");
  EXPECT_EQ(unknown.result, LoginResult::Throttled);
  EXPECT_EQ(known.result, LoginResult::Throttled);
  EXPECT_EQ(unknown.retry_after_seconds, 60);
  EXPECT_EQ(known.retry_after_seconds, 60);
}

TEST_F(AuthServiceTest, AnotherAddressStillLogsInWhileThePairWaits) {
  add_failures(pair_key("paul@example.com", "10.0.0.66"), 5);
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "corn")).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash("real-hash")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginOk)));
  EXPECT_EQ(service_->authenticate(from("paul@example.com", "10.0.0.1"), "corn").result,
            LoginResult::Success);
}

TEST_F(AuthServiceTest, ATrustedDeviceCountsItsFailuresAgainstItsMarkerOnly) {
  const AttemptSource source{"paul@example.com", "10.0.0.1",
                             DeviceClaim{"marker-1", clock_.now() + 3600}};
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "wrong")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  EXPECT_EQ(service_->authenticate(source, "wrong").result, LoginResult::InvalidCredentials);
  ASSERT_EQ(store_.rows.size(), 1U);
  EXPECT_EQ(store_.rows[0].key.scope, ThrottleScope::Device);
  EXPECT_EQ(store_.rows[0].key.device, "marker-1");
  // A killed marker stays dead for as long as the cookie could come back.
  EXPECT_EQ(store_.rows[0].expires_at, clock_.now() + 3600);
}

TEST_F(AuthServiceTest, StorageOutageIsAnErrorNotAnAnswer) {
  store_.unavailable = true;
  EXPECT_THROW(static_cast<void>(service_->authenticate(from("paul@example.com", ""), "corn")),
               StorageUnavailable);
}

TEST_F(AuthServiceTest, ALookupThatFailsLeavesNoPendingMarkBehind) {
  EXPECT_CALL(users_, find_by_email("paul@example.com"))
      .WillOnce(::testing::Throw(StorageUnavailable("down")));
  EXPECT_THROW(static_cast<void>(service_->authenticate(from("paul@example.com", ""), "corn")),
               StorageUnavailable);
  EXPECT_TRUE(store_.rows.empty());
}

}  // namespace
}  // namespace authfcgi::domain
