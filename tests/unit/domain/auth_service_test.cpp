#include "domain/auth_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
    EXPECT_CALL(hasher_, hash(_)).WillOnce(Return("dummy-hash"));
    service_ = std::make_unique<AuthService>(users_, hasher_, events_, clock_, "dummy");
  }

  StrictMock<testing::MockUserRepository> users_;
  StrictMock<testing::MockPasswordHasher> hasher_;
  StrictMock<testing::MockAuthEventSink> events_;
  testing::FakeClock clock_;
  std::unique_ptr<AuthService> service_;
  User paul_{7, "paul@example.com", "john", "real-hash"};
};

TEST_F(AuthServiceTest, UnknownEmailCostsOneVerifyAgainstTheDummyHash) {
  EXPECT_CALL(users_, find_by_email("nobody@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify("dummy-hash", "corn")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  const auto outcome = service_->authenticate("nobody@example.com", "corn", "10.0.0.1");
  EXPECT_EQ(outcome.result, LoginResult::InvalidCredentials);
  EXPECT_FALSE(outcome.user);
}

TEST_F(AuthServiceTest, DummyHashNeverLogsAnyoneIn) {
  // Even if the dummy verify were to succeed, an unknown email is not a login.
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify("dummy-hash", _)).WillOnce(Return(true));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginFailed)));
  EXPECT_EQ(service_->authenticate("x@example.com", "dummy", "").result,
            LoginResult::InvalidCredentials);
}

TEST_F(AuthServiceTest, WrongPasswordFails) {
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "wrong")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::account, "paul@example.com")));
  EXPECT_EQ(service_->authenticate("paul@example.com", "wrong", "").result,
            LoginResult::InvalidCredentials);
}

TEST_F(AuthServiceTest, RightPasswordSucceedsWithoutRehashWhenCurrent) {
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "corn")).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash("real-hash")).WillOnce(Return(false));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginOk)));
  const auto outcome = service_->authenticate("paul@example.com", "corn", "");
  ASSERT_EQ(outcome.result, LoginResult::Success);
  EXPECT_EQ(outcome.user->id, 7);
}

TEST_F(AuthServiceTest, OutdatedHashIsUpgradedOnSuccess) {
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("real-hash", "corn")).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash("real-hash")).WillOnce(Return(true));
  EXPECT_CALL(hasher_, hash("corn")).WillOnce(Return("stronger-hash"));
  EXPECT_CALL(users_, update_password_hash(7, "stronger-hash")).WillOnce(Return(true));
  EXPECT_CALL(events_, record(Field(&AuthEvent::kind, AuthEventKind::LoginOk)));
  EXPECT_EQ(service_->authenticate("paul@example.com", "corn", "").result, LoginResult::Success);
}

}  // namespace
}  // namespace authfcgi::domain
