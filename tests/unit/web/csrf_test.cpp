#include "web/csrf.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/key_ring.h"
#include "fakes/fake_clock.h"

namespace authfcgi::web {
namespace {

constexpr std::string_view kSecret = "test-secret-test-secret-test-secret-0001";
constexpr std::string_view kOldSecret = "older-secret-older-secret-older-secret-01";
constexpr std::string_view kSessionSecret = "c2Vzc2lvbi1zZWNyZXQtc2Vzc2lvbi1zZWNyZXQtc2U";
constexpr std::int64_t kLimit = 3600;

class CsrfTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  crypto::KeyRing keys_{kSecret, {}};
  Csrf csrf_{keys_, kLimit};
};

TEST_F(CsrfTest, IssuedTokenChecksOk) {
  const std::string token = csrf_.issue(kSessionSecret, clock_.now());
  EXPECT_TRUE(token.starts_with(std::to_string(clock_.now()) + "."));
  EXPECT_EQ(csrf_.check(kSessionSecret, token, clock_.now()), CsrfCheck::Ok);
}

TEST_F(CsrfTest, EmptyTokenOrNoSessionSecretIsMissing) {
  const std::string token = csrf_.issue(kSessionSecret, clock_.now());
  EXPECT_EQ(csrf_.check(kSessionSecret, "", clock_.now()), CsrfCheck::Missing);
  EXPECT_EQ(csrf_.check("", token, clock_.now()), CsrfCheck::Missing);
  EXPECT_EQ(csrf_.check("", "", clock_.now()), CsrfCheck::Missing);
}

TEST_F(CsrfTest, MalformedTokensAreInvalid) {
  const std::string token = csrf_.issue(kSessionSecret, clock_.now());
  const std::string mac = token.substr(token.find('.') + 1);
  const std::string now = std::to_string(clock_.now());
  for (const std::string& bad :
       {std::string("x"), std::string("."), now, now + ".", "." + mac, "+" + now + "." + mac,
        "-1." + mac, "0" + now + "." + mac, now + " ." + mac, now + "." + mac + "=",
        now + "." + mac + ".", now + "." + mac.substr(1), "99999999999999999999." + mac,
        token + "A"}) {
    EXPECT_EQ(csrf_.check(kSessionSecret, bad, clock_.now()), CsrfCheck::Invalid) << bad;
  }
}

TEST_F(CsrfTest, EveryChangedCharacterIsInvalid) {
  const std::string token = csrf_.issue(kSessionSecret, clock_.now());
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == '1' ? '2' : '1';
    const CsrfCheck result = csrf_.check(kSessionSecret, tampered, clock_.now());
    EXPECT_EQ(result, CsrfCheck::Invalid) << i;
  }
}

TEST_F(CsrfTest, RewrittenTimestampIsInvalid) {
  // Moving the issue time forward to dodge expiry breaks the MAC.
  const std::string token = csrf_.issue(kSessionSecret, clock_.now());
  const std::string forged = std::to_string(clock_.now() + 3000) + token.substr(token.find('.'));
  EXPECT_EQ(csrf_.check(kSessionSecret, forged, clock_.now() + 3601), CsrfCheck::Invalid);
}

TEST_F(CsrfTest, TokenOfAnotherSessionIsInvalid) {
  const std::string token = csrf_.issue("another-session-secret", clock_.now());
  EXPECT_EQ(csrf_.check(kSessionSecret, token, clock_.now()), CsrfCheck::Invalid);
}

TEST_F(CsrfTest, ExpiresAfterOneHour) {
  const std::string token = csrf_.issue(kSessionSecret, clock_.now());
  clock_.advance(3600);
  EXPECT_EQ(csrf_.check(kSessionSecret, token, clock_.now()), CsrfCheck::Ok);
  clock_.advance(1);
  EXPECT_EQ(csrf_.check(kSessionSecret, token, clock_.now()), CsrfCheck::Expired);
}

TEST_F(CsrfTest, ExpiredButForgedIsInvalidNotExpired) {
  const std::string token = csrf_.issue("another-session-secret", clock_.now());
  clock_.advance(7200);
  EXPECT_EQ(csrf_.check(kSessionSecret, token, clock_.now()), CsrfCheck::Invalid);
}

TEST_F(CsrfTest, TokenFromTheFutureIsInvalid) {
  EXPECT_EQ(
      csrf_.check(kSessionSecret, csrf_.issue(kSessionSecret, clock_.now() + 60), clock_.now()),
      CsrfCheck::Ok);
  EXPECT_EQ(
      csrf_.check(kSessionSecret, csrf_.issue(kSessionSecret, clock_.now() + 61), clock_.now()),
      CsrfCheck::Invalid);
}

TEST_F(CsrfTest, PreviousKeyIsAcceptedAndOtherKeysAreNot) {
  const crypto::KeyRing old_keys(kOldSecret, {});
  const Csrf old_csrf(old_keys, kLimit);
  const std::string old_token = old_csrf.issue(kSessionSecret, clock_.now());
  EXPECT_EQ(csrf_.check(kSessionSecret, old_token, clock_.now()), CsrfCheck::Invalid);
  const crypto::KeyRing rotated_keys(kSecret, {kOldSecret});
  const Csrf rotated(rotated_keys, kLimit);
  EXPECT_EQ(rotated.check(kSessionSecret, old_token, clock_.now()), CsrfCheck::Ok);
}

TEST(CsrfMessages, AreFlaskWtfTexts) {
  EXPECT_EQ(csrf_failure_message(CsrfCheck::Missing), "The CSRF token is missing.");
  EXPECT_EQ(csrf_failure_message(CsrfCheck::Invalid), "The CSRF token is invalid.");
  EXPECT_EQ(csrf_failure_message(CsrfCheck::Expired), "The CSRF token has expired.");
}

}  // namespace
}  // namespace authfcgi::web
