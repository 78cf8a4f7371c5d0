#include "domain/auth_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "fakes/fake_clock.h"
#include "mocks/mocks.h"

namespace authfcgi::domain {
namespace {

using ::testing::_;
using ::testing::Field;
using ::testing::Return;
using ::testing::StrictMock;

class AuthServiceTest : public ::testing::Test {
 protected:
  AuthServiceTest() {
    service_ = std::make_unique<AuthService>(
        users_, hasher_,
        LoginThrottling{throttle_, ThrottleLimits{}, ThrottleLimits{20, 60, 900, 3600}}, events_,
        clock_, "dummy-hash");
  }

  // A clean account and address; the attempt is counted against the account before the
  // password is checked, and nobody else's was counted in between.
  void expect_clean_attempt(const std::string& email, const std::string& address) {
    EXPECT_CALL(throttle_, get("account:" + email, "address:" + address))
        .WillOnce(Return(ThrottleCounters{}));
    EXPECT_CALL(throttle_, record_failure("account:" + email, clock_.now(), 3600))
        .WillOnce(Return(ThrottleState{1, clock_.now()}));
  }
  // Paul logs in with the right password, and his stored hash is due for an upgrade to
  // "stronger-hash"; the test says what the compare-and-swap finds.
  void expect_right_password_with_outdated_hash() {
    expect_clean_attempt("paul@example.com", "");
    EXPECT_CALL(throttle_, reset("account:paul@example.com"));
    EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
    EXPECT_CALL(hasher_, verify("real-hash", "corn")).WillOnce(Return(true));
    EXPECT_CALL(hasher_, needs_rehash("real-hash")).WillOnce(Return(true));
    EXPECT_CALL(hasher_, hash("corn")).WillOnce(Return("stronger-hash"));
    EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginOk)));
  }
  void expect_address_failure_counted(const std::string& address) {
    EXPECT_CALL(throttle_, record_failure("address:" + address, clock_.now(), 3600))
        .WillOnce(Return(ThrottleState{1, clock_.now()}));
  }

  StrictMock<testing::MockUserRepository> users_;
  StrictMock<testing::MockPasswordHasher> hasher_;
  StrictMock<testing::MockAuthEventSink> events_;
  StrictMock<testing::MockLoginThrottleStore> throttle_;
  testing::FakeClock clock_;
  std::unique_ptr<AuthService> service_;
  User paul_{7, "paul@example.com", "john", "real-hash"};
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
  StrictMock<testing::MockLoginThrottleStore> throttle;
  const testing::FakeClock clock;
  EXPECT_THROW(
      AuthService(users, hasher, LoginThrottling{throttle, ThrottleLimits{}, ThrottleLimits{}},
                  events, clock, ""),
      std::invalid_argument);
}

TEST_F(AuthServiceTest, UnknownEmailCostsOneVerifyAgainstTheDummyHash) {
  expect_clean_attempt("nobody@example.com", "10.0.0.1");
  expect_address_failure_counted("10.0.0.1");
  EXPECT_CALL(users_, find_by_email("nobody@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify("dummy-hash", "corn")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  const auto outcome = service_->authenticate("nobody@example.com", "corn", "10.0.0.1");
  EXPECT_EQ(outcome.result, LoginResult::InvalidCredentials);
  EXPECT_FALSE(outcome.user);
}

TEST_F(AuthServiceTest, DummyHashNeverLogsAnyoneIn) {
  expect_clean_attempt("x@example.com", "");
  expect_address_failure_counted("");
  // Even if the dummy verify were to succeed, an unknown email is not a login.
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify("dummy-hash", _)).WillOnce(Return(true));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  EXPECT_EQ(service_->authenticate("x@example.com", "dummy", "").result,
            LoginResult::InvalidCredentials);
}

TEST_F(AuthServiceTest, WrongPasswordFails) {
  expect_clean_attempt("paul@example.com", "");
  expect_address_failure_counted("");
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "wrong")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::account, "paul@example.com")));
  EXPECT_EQ(service_->authenticate("paul@example.com", "wrong", "").result,
            LoginResult::InvalidCredentials);
}

TEST_F(AuthServiceTest, RightPasswordSucceedsWithoutRehashWhenCurrent) {
  expect_clean_attempt("paul@example.com", "");
  EXPECT_CALL(throttle_, reset("account:paul@example.com"));
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "corn")).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash("real-hash")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginOk)));
  const auto outcome = service_->authenticate("paul@example.com", "corn", "");
  ASSERT_EQ(outcome.result, LoginResult::Success);
  EXPECT_EQ(outcome.user->id, 7);
}

TEST_F(AuthServiceTest, OutdatedHashIsUpgradedOnSuccess) {
  expect_right_password_with_outdated_hash();
  EXPECT_CALL(users_, replace_password_hash(7, "real-hash", "stronger-hash"))
      .WillOnce(Return(true));
  const auto outcome = service_->authenticate("paul@example.com", "corn", "");
  ASSERT_EQ(outcome.result, LoginResult::Success);
  EXPECT_EQ(outcome.user->password_hash, "stronger-hash");
}

TEST_F(AuthServiceTest, UpgradeNeverOverwritesAPasswordChangedMeanwhile) {
  expect_right_password_with_outdated_hash();
  // `authctl user passwd` replaced the hash after it was read: the swap finds another hash.
  EXPECT_CALL(users_, replace_password_hash(7, "real-hash", "stronger-hash"))
      .WillOnce(Return(false));
  const auto outcome = service_->authenticate("paul@example.com", "corn", "");
  ASSERT_EQ(outcome.result, LoginResult::Success);
  EXPECT_EQ(outcome.user->password_hash, "real-hash");
}

TEST_F(AuthServiceTest, ParallelAttemptsPastTheCheckGetNoMoreTriesThanASequence) {
  // Four failures so far. Two attempts both passed the check; this one was counted second
  // (the count says 6, not 5): it is throttled without a password check or a user lookup.
  EXPECT_CALL(throttle_, get("account:paul@example.com", "address:10.0.0.1"))
      .WillOnce(Return(ThrottleCounters{ThrottleState{4, clock_.now() - 30}, {}}));
  EXPECT_CALL(throttle_, record_failure("account:paul@example.com", clock_.now(), 3600))
      .WillOnce(Return(ThrottleState{6, clock_.now()}));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginThrottled)));
  const auto outcome = service_->authenticate("paul@example.com", "corn", "10.0.0.1");
  EXPECT_EQ(outcome.result, LoginResult::Throttled);
  EXPECT_EQ(outcome.retry_after_seconds, 60);
  EXPECT_FALSE(outcome.user);
}

TEST_F(AuthServiceTest, TheFifthTryCountedAloneStillChecksThePassword) {
  EXPECT_CALL(throttle_, get("account:paul@example.com", "address:10.0.0.1"))
      .WillOnce(Return(ThrottleCounters{ThrottleState{4, clock_.now() - 30}, {}}));
  EXPECT_CALL(throttle_, record_failure("account:paul@example.com", clock_.now(), 3600))
      .WillOnce(Return(ThrottleState{5, clock_.now()}));
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "wrong")).WillOnce(Return(false));
  expect_address_failure_counted("10.0.0.1");
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  EXPECT_EQ(service_->authenticate("paul@example.com", "wrong", "10.0.0.1").result,
            LoginResult::InvalidCredentials);
}

TEST_F(AuthServiceTest, SixthTryIsThrottledEvenWithTheRightPasswordAndChecksNothing) {
  EXPECT_CALL(throttle_, get("account:paul@example.com", "address:10.0.0.1"))
      .WillOnce(Return(ThrottleCounters{ThrottleState{5, clock_.now() - 10}, ThrottleState{5, 0}}));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginThrottled)));
  const auto outcome = service_->authenticate("paul@example.com", "corn", "10.0.0.1");
  EXPECT_EQ(outcome.result, LoginResult::Throttled);
  EXPECT_EQ(outcome.retry_after_seconds, 50);
  EXPECT_FALSE(outcome.user);
}

TEST_F(AuthServiceTest, UnknownEmailIsThrottledExactlyLikeAKnownOne) {
  EXPECT_CALL(throttle_, get("account:nobody@example.com", "address:10.0.0.1"))
      .WillOnce(Return(ThrottleCounters{ThrottleState{5, clock_.now()}, {}}));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginThrottled)));
  const auto outcome = service_->authenticate("nobody@example.com", "corn", "10.0.0.1");
  EXPECT_EQ(outcome.result, LoginResult::Throttled);
  EXPECT_EQ(outcome.retry_after_seconds, 60);
}

TEST_F(AuthServiceTest, BusyAddressIsThrottledAcrossAccounts) {
  EXPECT_CALL(throttle_, get("account:paul@example.com", "address:10.0.0.9"))
      .WillOnce(Return(ThrottleCounters{{}, ThrottleState{21, clock_.now()}}));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginThrottled)));
  EXPECT_EQ(service_->authenticate("paul@example.com", "corn", "10.0.0.9").retry_after_seconds,
            120);
}

TEST_F(AuthServiceTest, OverlongThrottleKeysAreCutToTheColumnSize) {
  const std::string email(400, 'a');
  EXPECT_CALL(throttle_, get(_, _))
      .WillOnce([](std::string_view account_key, std::string_view address_key) {
        EXPECT_LE(account_key.size(), 191U);
        EXPECT_LE(address_key.size(), 191U);
        return ThrottleCounters{};
      });
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(false));
  EXPECT_CALL(throttle_, record_failure(_, _, _))
      .Times(2)
      .WillRepeatedly([](std::string_view key, std::int64_t now, std::int64_t) {
        EXPECT_LE(key.size(), 191U);
        return ThrottleState{1, now};
      });
  EXPECT_CALL(events_, record(_));
  static_cast<void>(service_->authenticate(email, "x", "10.0.0.1"));
}

TEST_F(AuthServiceTest, OverlongMultibyteKeysAreCutBetweenCharacters) {
  std::string email;
  for (int i = 0; i < 60; ++i) {
    email += "\xF0\x9F\x98\x80";  // a 4-byte character: 240 bytes in all
  }
  email += "@a.bc";
  EXPECT_CALL(throttle_, get(_, _)).WillOnce([](std::string_view key, std::string_view) {
    EXPECT_LE(key.size(), 191U);
    // The key ends on a whole character: its last lead byte has all its continuation bytes.
    const auto lead = key.find_last_of("\xF0");
    EXPECT_TRUE(lead == std::string_view::npos || key.size() - lead == 4);
    return ThrottleCounters{};
  });
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(false));
  EXPECT_CALL(throttle_, record_failure(_, _, _))
      .Times(2)
      .WillRepeatedly([](std::string_view, std::int64_t now, std::int64_t) {
        return ThrottleState{1, now};
      });
  EXPECT_CALL(events_, record(_));
  static_cast<void>(service_->authenticate(email, "x", "10.0.0.1"));
}

}  // namespace
}  // namespace authfcgi::domain
