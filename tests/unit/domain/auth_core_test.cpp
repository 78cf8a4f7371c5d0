#include "domain/auth_core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/key_ring.h"
#include "crypto/sodium_random_source.h"
#include "crypto/sodium_token_crypto.h"
#include "domain/errors.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_login_throttle_store.h"
#include "fakes/fake_stores.h"
#include "mocks/mocks.h"

namespace authfcgi::domain {
namespace {

using ::testing::_;
using ::testing::NiceMock;
using ::testing::Return;

constexpr std::string_view kSecret = "test-secret-of-at-least-32-bytes-0123456789";
constexpr UserId kAnn = 7;
constexpr std::int64_t kYear = 365 * 24 * 3600;

// The remember-me paths, tested through the core against in-memory stores: each test states
// what a browser (or a thief) ends up with and what is left in the database.
class AuthCoreTest : public ::testing::Test {
 protected:
  AuthCoreTest() {
    const User ann{kAnn, "ann@example.com", "ann", "ann-hash", {}};
    ON_CALL(users_, find_by_email("ann@example.com")).WillByDefault(Return(ann));
    ON_CALL(users_, find_by_id(kAnn)).WillByDefault(Return(ann));
    ON_CALL(users_, update_password_hash(kAnn, _)).WillByDefault(Return(true));
    ON_CALL(hasher_, verify("ann-hash", "corn")).WillByDefault(Return(true));
    ON_CALL(hasher_, hash(_)).WillByDefault(Return("new-hash"));
    sessions_.users[kAnn] = CurrentUser{kAnn, "ann@example.com", "ann", {}, true};
  }

  Visit visit(std::optional<std::string> remember_cookie, SessionState session = {}) {
    return Visit(std::move(session), std::move(remember_cookie), "127.0.0.1", clock_.now());
  }

  // A browser that logged in with "remember me": its remember cookie.
  std::string remembered_login() {
    Visit login = visit(std::nullopt);
    EXPECT_EQ(core_.log_in(login, "ann@example.com", "corn", RememberChoice::Yes).result,
              LoginResult::Success);
    EXPECT_EQ(login.remember.intent, CookieIntent::Set);
    return login.remember.value;
  }

  // A browser with no session presents `cookie`; returns the visit after identify.
  Visit restore(const std::string& cookie) {
    Visit restored = visit(cookie);
    core_.identify(restored, Restore::FromRememberCookie);
    return restored;
  }

  static std::string selector(const std::string& cookie) { return cookie.substr(0, 22); }

  NiceMock<testing::MockUserRepository> users_;
  testing::FakeLoginThrottleStore throttle_;
  NiceMock<testing::MockPasswordHasher> hasher_;
  NiceMock<testing::MockAuthEventSink> events_;
  testing::FakeSessionStore sessions_;
  testing::FakeRememberTokenStore tokens_;
  testing::FakeClock clock_;
  crypto::SodiumRandomSource random_;
  crypto::KeyRing keys_{kSecret, {}};
  crypto::SodiumTokenCrypto token_crypto_{keys_, random_};
  AuthCore core_{AuthCoreDependencies{users_, sessions_, tokens_, throttle_, hasher_, token_crypto_,
                                      random_, events_, clock_, SessionSettings{},
                                      ThrottleSettings{}, "dummy-hash"}};
};

TEST_F(AuthCoreTest, IssuedTokenStoresOnlyAKeyedHashOfItsValidator) {
  const std::string cookie = remembered_login();
  ASSERT_EQ(cookie.size(), 22U + 1U + 43U);
  const auto& row = tokens_.rows.at(selector(cookie));
  EXPECT_EQ(row.user_id, kAnn);
  EXPECT_EQ(row.expires_at, clock_.now() + kYear);
  EXPECT_EQ(row.used_at, 0);
  EXPECT_EQ(row.validator_hash.size(), 64U);
  EXPECT_EQ(cookie.find(row.validator_hash), std::string::npos);
  EXPECT_EQ(row.validator_hash.find(cookie.substr(23)), std::string::npos);
}

TEST_F(AuthCoreTest, ConsumedTokenLogsInWithANewSessionAndRotates) {
  const std::string cookie = remembered_login();
  clock_.advance(3600);
  const Visit restored = restore(cookie);
  ASSERT_TRUE(restored.user);
  EXPECT_EQ(restored.user->username, "ann");
  EXPECT_EQ(restored.session.user_id, kAnn);
  EXPECT_EQ(restored.session_cookie(), CookieIntent::Set);
  ASSERT_EQ(restored.remember.intent, CookieIntent::Set);
  EXPECT_NE(restored.remember.value, cookie);
  EXPECT_EQ(tokens_.rows.at(selector(cookie)).used_at, clock_.now());
  EXPECT_EQ(tokens_.rows.at(selector(restored.remember.value)).used_at, 0);
  EXPECT_EQ(sessions_.count_for(kAnn), 2U);  // the password login's and the restored one
  // The rotated token restores in turn.
  clock_.advance(3600);
  EXPECT_TRUE(restore(restored.remember.value).user);
}

TEST_F(AuthCoreTest, ExpiredTokenIsRefusedClearedAndDeleted) {
  const std::string cookie = remembered_login();
  clock_.advance(kYear);
  const Visit restored = restore(cookie);
  EXPECT_FALSE(restored.user);
  EXPECT_EQ(restored.remember.intent, CookieIntent::Clear);
  EXPECT_FALSE(tokens_.rows.contains(selector(cookie)));
}

TEST_F(AuthCoreTest, UsedTokenWithinTheGraceMinuteIsOnlyIgnored) {
  const std::string cookie = remembered_login();
  ASSERT_TRUE(restore(cookie).user);
  clock_.advance(RememberTokens::kReuseGraceSeconds);
  const Visit parallel = restore(cookie);
  EXPECT_FALSE(parallel.user);
  EXPECT_EQ(parallel.remember.intent, CookieIntent::Keep) << "the winner's new cookie stands";
  EXPECT_EQ(sessions_.count_for(kAnn), 2U);
  EXPECT_EQ(tokens_.count_for(kAnn), 2U);
}

TEST_F(AuthCoreTest, UsedTokenAfterTheGraceMinuteRevokesEveryLoginOfTheUser) {
  const std::string cookie = remembered_login();
  ASSERT_TRUE(restore(cookie).user);
  clock_.advance(RememberTokens::kReuseGraceSeconds + 1);
  EXPECT_CALL(events_,
              record(::testing::Field(&AuthEvent::kind, AuthEventKind::RememberTokenReused)));
  const Visit returned = restore(cookie);
  EXPECT_FALSE(returned.user);
  EXPECT_EQ(returned.remember.intent, CookieIntent::Clear);
  EXPECT_EQ(sessions_.count_for(kAnn), 0U);
  EXPECT_EQ(tokens_.count_for(kAnn), 0U);
}

TEST_F(AuthCoreTest, TokenExchangedByAParallelRequestFirstIsSuperseded) {
  const std::string cookie = remembered_login();
  tokens_.lose_next_mark_used = true;
  const Visit lost = restore(cookie);
  EXPECT_FALSE(lost.user);
  EXPECT_EQ(lost.remember.intent, CookieIntent::Keep);
  EXPECT_EQ(sessions_.count_for(kAnn), 1U) << "the loser starts no session";
  EXPECT_EQ(tokens_.count_for(kAnn), 1U) << "and issues no token";
}

TEST_F(AuthCoreTest, WrongValidatorIsRefusedAndLeavesTheRowAlone) {
  const std::string cookie = remembered_login();
  const std::string forged = selector(cookie) + "." + std::string(43, 'A');
  const Visit restored = restore(forged);
  EXPECT_FALSE(restored.user);
  EXPECT_EQ(restored.remember.intent, CookieIntent::Clear);
  EXPECT_EQ(tokens_.rows.at(selector(cookie)).used_at, 0);
  Visit logout = visit(forged);
  EXPECT_FALSE(core_.log_out(logout));
  EXPECT_TRUE(tokens_.rows.contains(selector(cookie))) << "a selector alone deletes nothing";
}

TEST_F(AuthCoreTest, MalformedCookiesAreRefusedAndCleared) {
  for (const std::string& bad : std::vector<std::string>{
           "", ".", "abc", std::string(200, 'A'), std::string(22, 'A') + "." + std::string(42, 'A'),
           std::string(22, '%') + "." + std::string(43, 'A')}) {
    const Visit restored = restore(bad);
    EXPECT_FALSE(restored.user) << bad;
    EXPECT_EQ(restored.remember.intent, CookieIntent::Clear) << bad;
  }
}

TEST_F(AuthCoreTest, LogoutDeletesTheLiveTokenAndIssuesNone) {
  const std::string cookie = remembered_login();
  Visit logout = visit(cookie);
  core_.identify(logout, Restore::No);
  EXPECT_TRUE(core_.log_out(logout)) << "a remembered browser counts as logged in";
  EXPECT_EQ(logout.remember.intent, CookieIntent::Clear);
  EXPECT_FALSE(tokens_.rows.contains(selector(cookie)));
  EXPECT_EQ(sessions_.count_for(kAnn), 1U) << "no session was started to be ended";
}

TEST_F(AuthCoreTest, TheThiefsLogoutWithTheUsedTokenIsTheTheftSignal) {
  const std::string stolen = remembered_login();
  const Visit thief = restore(stolen);
  ASSERT_TRUE(thief.user);
  clock_.advance(120);
  Visit logout = visit(stolen);
  core_.identify(logout, Restore::No);
  core_.log_out(logout);
  EXPECT_EQ(sessions_.count_for(kAnn), 0U);
  EXPECT_EQ(tokens_.count_for(kAnn), 0U);
}

TEST_F(AuthCoreTest, PasswordLoginGivesTheBrowsersOldTokenUp) {
  const std::string old_cookie = remembered_login();
  Visit again = visit(old_cookie);
  ASSERT_EQ(core_.log_in(again, "ann@example.com", "corn", RememberChoice::No).result,
            LoginResult::Success);
  EXPECT_EQ(again.remember.intent, CookieIntent::Clear);
  EXPECT_EQ(tokens_.count_for(kAnn), 0U);

  Visit remembered = visit(std::nullopt);
  ASSERT_EQ(core_.log_in(remembered, "ann@example.com", "corn", RememberChoice::Yes).result,
            LoginResult::Success);
  Visit replaced = visit(remembered.remember.value);
  ASSERT_EQ(core_.log_in(replaced, "ann@example.com", "corn", RememberChoice::Yes).result,
            LoginResult::Success);
  EXPECT_EQ(replaced.remember.intent, CookieIntent::Set);
  EXPECT_EQ(tokens_.count_for(kAnn), 1U) << "the replaced token is gone, not orphaned";
}

TEST_F(AuthCoreTest, RestoresInALoopStayWithinTheBounds) {
  std::string cookie = remembered_login();
  const auto first_session = sessions_.rows.begin()->first;
  std::string last_sid;
  for (int round = 0; round < 150; ++round) {
    const Visit restored = restore(cookie);
    ASSERT_TRUE(restored.user) << "round " << round;
    cookie = restored.remember.value;
    last_sid = restored.session.sid;
  }
  EXPECT_EQ(sessions_.count_for(kAnn), kMaxSessionsPerUser);
  EXPECT_EQ(tokens_.count_for(kAnn), kMaxRememberTokensPerUser + 1) << "100 used, 1 live";
  EXPECT_FALSE(sessions_.rows.contains(first_session)) << "the oldest session ended";
  EXPECT_TRUE(sessions_.rows.contains(token_crypto_.session_id_digest(last_sid)));
  EXPECT_TRUE(restore(cookie).user) << "the newest token still works";
}

// A thief who restores first with a stolen token and then replays in a loop must not push the
// stolen token's used row out: its return is how the theft is found.
TEST_F(AuthCoreTest, ARestoreLoopCannotEraseTheStolenTokensTheftSignal) {
  const std::string stolen = remembered_login();
  clock_.advance(24 * 3600);  // the token lived a day in the victim's browser
  std::string cookie = stolen;
  for (int round = 0; round < 150; ++round) {
    const Visit thief = restore(cookie);
    ASSERT_TRUE(thief.user) << "round " << round;
    cookie = thief.remember.value;
  }
  ASSERT_TRUE(tokens_.rows.contains(selector(stolen)));
  clock_.advance(RememberTokens::kReuseGraceSeconds + 1);
  const Visit victim = restore(stolen);
  EXPECT_FALSE(victim.user);
  EXPECT_EQ(sessions_.count_for(kAnn), 0U) << "the thief's sessions end too";
  EXPECT_EQ(tokens_.count_for(kAnn), 0U);
}

TEST_F(AuthCoreTest, AFailureWhileRestoringLeavesTheTokenUnused) {
  const std::string cookie = remembered_login();
  clock_.advance(3600);
  sessions_.unavailable = true;  // the new session cannot be written
  EXPECT_THROW(restore(cookie), StorageUnavailable);
  sessions_.unavailable = false;
  EXPECT_EQ(tokens_.rows.at(selector(cookie)).used_at, 0) << "a retry must not read as theft";
  clock_.advance(RememberTokens::kReuseGraceSeconds + 1);
  EXPECT_TRUE(restore(cookie).user);
}

TEST_F(AuthCoreTest, SettingAPasswordRevokesEveryLoginOfTheUser) {
  const std::string cookie = remembered_login();
  ASSERT_TRUE(restore(cookie).user);
  EXPECT_CALL(users_, update_password_hash(kAnn, "new-hash")).WillOnce(Return(true));
  EXPECT_TRUE(core_.accounts().set_password(kAnn, "another password"));
  EXPECT_EQ(sessions_.count_for(kAnn), 0U);
  EXPECT_EQ(tokens_.count_for(kAnn), 0U);
}

TEST_F(AuthCoreTest, ASessionWhoseRowIsGoneBecomesAnonymous) {
  Visit login = visit(std::nullopt);
  ASSERT_EQ(core_.log_in(login, "ann@example.com", "corn", RememberChoice::No).result,
            LoginResult::Success);
  Visit later = visit(std::nullopt, login.session);
  core_.identify(later, Restore::FromRememberCookie);
  EXPECT_TRUE(later.user);
  core_.accounts().log_out_everywhere(kAnn);
  Visit after = visit(std::nullopt, login.session);
  core_.identify(after, Restore::FromRememberCookie);
  EXPECT_FALSE(after.user);
  EXPECT_FALSE(after.session.user_id);
  EXPECT_EQ(after.session_cookie(), CookieIntent::Set);
}

}  // namespace
}  // namespace authfcgi::domain

namespace authfcgi::domain {
namespace {

class DeviceMarkerTest : public AuthCoreTest {
 protected:
  // A login of Ann from a browser that sent `markers`; the markers it is sent back.
  std::vector<DeviceMarker> log_in_with(std::vector<DeviceMarker> markers,
                                        const std::string& password = "corn") {
    Visit login(SessionState{}, std::nullopt, "127.0.0.1", clock_.now(), std::move(markers));
    last_result_ = core_.log_in(login, "ann@example.com", password, RememberChoice::No).result;
    return login.device_update.value_or(std::vector<DeviceMarker>{});
  }
  DeviceMarker marker_of(const std::string& email, const std::string& id,
                         std::int64_t issued_at) const {
    return {token_crypto_.device_account_tag(email), id, issued_at};
  }
  LoginResult last_result_ = LoginResult::InvalidCredentials;
};

TEST_F(DeviceMarkerTest, ALoginIssuesAMarkerThatNamesTheAccountByAKeyedHash) {
  const auto markers = log_in_with({});
  ASSERT_EQ(markers.size(), 1U);
  EXPECT_TRUE(token_crypto_.device_account_tag_matches("ann@example.com", markers[0].account_tag));
  EXPECT_FALSE(token_crypto_.device_account_tag_matches("bob@example.com", markers[0].account_tag));
  EXPECT_EQ(markers[0].account_tag.find("ann"), std::string::npos);
  EXPECT_EQ(markers[0].issued_at, clock_.now());
  EXPECT_EQ(markers[0].id.size(), 22U);
}

TEST_F(DeviceMarkerTest, AFailedLoginSendsNoMarker) {
  EXPECT_TRUE(log_in_with({}, "wrong").empty());
  EXPECT_EQ(last_result_, LoginResult::InvalidCredentials);
}

TEST_F(DeviceMarkerTest, ATrustedMarkerIsKeptAndOtherAccountsMarkersStay) {
  const DeviceMarker own = marker_of("ann@example.com", "ann-laptop", clock_.now() - 100);
  const DeviceMarker bobs = marker_of("bob@example.com", "bob-laptop", clock_.now() - 50);
  const auto markers = log_in_with({bobs, own});
  ASSERT_EQ(markers.size(), 2U);
  EXPECT_EQ(markers[0].id, own.id) << "the account's marker first, the same one";
  EXPECT_EQ(markers[0].issued_at, clock_.now()) << "renewed: a year from this login";
  EXPECT_EQ(markers[1], bobs);
}

TEST_F(DeviceMarkerTest, AtMostFiveAccountsTheOldestGoes) {
  std::vector<DeviceMarker> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(marker_of("user" + std::to_string(i) + "@example.com", "m" + std::to_string(i),
                             clock_.now() - 10 * i));
  }
  const auto markers = log_in_with(sent);
  ASSERT_EQ(markers.size(), 5U);
  EXPECT_TRUE(token_crypto_.device_account_tag_matches("ann@example.com", markers[0].account_tag));
  EXPECT_EQ(markers[4].id, "m3") << "the fifth sent (last in the cookie) is pushed out";
}

TEST_F(DeviceMarkerTest, AnExpiredMarkerIsNeitherTrustedNorKept) {
  const DeviceMarker old = marker_of("ann@example.com", "ann-old", clock_.now() - kYear);
  const auto markers = log_in_with({old});
  ASSERT_EQ(markers.size(), 1U);
  EXPECT_NE(markers[0].id, "ann-old");
}

TEST_F(DeviceMarkerTest, AKilledMarkerIsReplacedByANewOne) {
  const DeviceMarker own = marker_of("ann@example.com", "ann-laptop", clock_.now() - 100);
  for (int i = 0; i < 5; ++i) {
    log_in_with({own}, "wrong");
  }
  const auto markers = log_in_with({own});
  EXPECT_EQ(last_result_, LoginResult::Success);
  ASSERT_EQ(markers.size(), 1U);
  EXPECT_NE(markers[0].id, "ann-laptop");
  EXPECT_EQ(throttle_.failures_of({ThrottleScope::Device, "ann@example.com", {}, "ann-laptop"}), 5U)
      << "the dead marker stays dead: a copy of the old cookie gets nothing";
}

}  // namespace
}  // namespace authfcgi::domain

namespace authfcgi::domain {
namespace {

class GatewayTest : public AuthCoreTest {
 protected:
  // A browser logged in by password (with remember-me if asked): its session cookie state and
  // remember cookie.
  std::pair<SessionState, std::string> logged_in(RememberChoice remember = RememberChoice::No) {
    Visit login = visit(std::nullopt);
    EXPECT_EQ(core_.log_in(login, "ann@example.com", "corn", remember).result,
              LoginResult::Success);
    return {login.session, login.remember.value};
  }
};

TEST_F(GatewayTest, ALoggedInUserInAnyRequiredGroupIsAllowed) {
  sessions_.users[kAnn].groups = {"admins", "staff"};
  auto [session, remember] = logged_in();
  Visit request = visit(std::nullopt, session);
  const GatewayAnswer answer = core_.verify(request, "ops,staff", "/admin/");
  EXPECT_EQ(answer.result, GatewayResult::Allowed);
  ASSERT_TRUE(request.user);
  EXPECT_EQ(request.user->username, "ann");
  EXPECT_EQ(request.user->groups, (std::vector<std::string>{"admins", "staff"}));
}

TEST_F(GatewayTest, AUserWithoutTheGroupIsForbidden) {
  auto [session, remember] = logged_in();
  Visit request = visit(std::nullopt, session);
  EXPECT_EQ(core_.verify(request, "admins", "/admin/").result, GatewayResult::Forbidden);
}

TEST_F(GatewayTest, AnUnconfirmedUserIsForbiddenEvenWithoutAGroup) {
  sessions_.users[kAnn].email_confirmed = false;
  auto [session, remember] = logged_in();
  Visit request = visit(std::nullopt, session);
  EXPECT_EQ(core_.verify(request, "", "/private/").result, GatewayResult::Forbidden);
}

TEST_F(GatewayTest, AnAnonymousBrowserIsSentToTheLoginPageWithTheUriAsNext) {
  Visit request = visit(std::nullopt);
  const GatewayAnswer answer = core_.verify(request, "", "/private/report.html?q=1");
  EXPECT_EQ(answer.result, GatewayResult::Anonymous);
  EXPECT_EQ(answer.login_location, "/auth/login?next=%2Fprivate%2Freport.html%3Fq%3D1");
}

TEST_F(GatewayTest, ALoggedOutSessionIsAnonymousAtOnce) {
  auto [session, remember] = logged_in();
  Visit logout = visit(std::nullopt, session);
  core_.identify(logout, Restore::No);
  core_.log_out(logout);
  Visit request = visit(std::nullopt, session);
  EXPECT_EQ(core_.verify(request, "", "/private/").result, GatewayResult::Anonymous);
}

TEST_F(GatewayTest, ARememberedBrowserIsRestoredWithItsGroupsAndGetsTheRotatedCookies) {
  auto [session, remember] = logged_in(RememberChoice::Yes);
  ON_CALL(users_, groups_of(kAnn)).WillByDefault(Return(std::vector<std::string>{"admins"}));
  clock_.advance(3600);
  Visit request = visit(remember);  // the browser was closed: no session cookie
  EXPECT_EQ(core_.verify(request, "admins", "/admin/").result, GatewayResult::Allowed);
  EXPECT_EQ(request.session_cookie(), CookieIntent::Set);
  ASSERT_EQ(request.remember.intent, CookieIntent::Set);
  EXPECT_NE(request.remember.value, remember);
}

TEST_F(GatewayTest, VerifyNeverChecksAPassword) {
  auto [session, remember] = logged_in();
  ::testing::Mock::VerifyAndClearExpectations(&hasher_);
  EXPECT_CALL(hasher_, verify(_, _)).Times(0);
  Visit request = visit(std::nullopt, session);
  static_cast<void>(core_.verify(request, "", "/private/"));
  Visit anonymous = visit(std::nullopt);
  static_cast<void>(core_.verify(anonymous, "", "/private/"));
}

}  // namespace
}  // namespace authfcgi::domain
