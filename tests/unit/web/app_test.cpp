#include "web/app.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "crypto/hmac.h"
#include "crypto/key_ring.h"
#include "crypto/sodium_token_crypto.h"
#include "domain/errors.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_login_throttle_store.h"
#include "fakes/fake_pool.h"
#include "fakes/fake_random_source.h"
#include "fakes/fake_stores.h"
#include "mocks/mocks.h"
#include "support/cookie_jar.h"
#include "support/request_builder.h"

namespace authfcgi::web {
namespace {

using ::testing::_;
using ::testing::AnyNumber;
using testing::CookieJar;
using ::testing::DoAll;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RequestBuilder;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

constexpr std::string_view kSecret = "test-secret-of-at-least-32-bytes-0123456789";

class AppTest : public ::testing::Test {
 protected:
  AppTest() {
    app_ = std::make_unique<App>(dependencies(hasher_, keys_, token_crypto_));
    sessions_.users[7] = domain::CurrentUser{7, "paul@example.com", "john", {}, true};
    // A remember-me restore reads the user's groups; paul has none unless a test says so.
    ON_CALL(users_, groups_of(7)).WillByDefault(Return(std::vector<std::string>{}));
    EXPECT_CALL(users_, groups_of(7)).Times(AnyNumber());
    EXPECT_CALL(events_, record(_)).Times(AnyNumber());
  }

  AppDependencies dependencies(domain::PasswordHasher& hasher, const crypto::KeyRing& keys,
                               const domain::TokenCrypto& token_crypto,
                               domain::SessionSettings settings = {}) {
    return AppDependencies{
        users_,       sessions_,    tokens_,
        throttle_,    hasher,       clock_,
        token_crypto, random_,      events_,
        keys,         renderer_,    settings,
        {},           "dummy-hash", nullptr,
        &pool_,       &pool_,       StatusSettings{status_enabled_, status_allow_}};
  }

  // Sends a request with the jar's cookies and keeps the cookies it sets.
  Response send(RequestBuilder builder) {
    Request request = builder.build();
    jar_.apply(request);
    Response response = app_->handle(request);
    jar_.absorb(response);
    return response;
  }

  // Fetches the login form and returns its CSRF token.
  std::string fetch_csrf_token() {
    const auto page = send(RequestBuilder().get("/auth/login"));
    std::smatch match;
    const std::regex token(R"re(name="csrf_token" type="hidden" value="([^"]+)")re");
    EXPECT_TRUE(std::regex_search(page.body, match, token));
    return match.size() > 1 ? match[1].str() : std::string();
  }

  RequestBuilder login_post(const std::string& email, const std::string& password) {
    const auto token = fetch_csrf_token();
    RequestBuilder builder;
    builder.post("/auth/login")
        .field("csrf_token", token)
        .field("email", email)
        .field("password", password);
    return builder;
  }

  // Logs paul in and makes later requests find his session row.
  void log_in_paul(RequestBuilder builder) {
    EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
    EXPECT_CALL(hasher_, verify("paul-hash", "corn")).WillOnce(Return(true));
    EXPECT_CALL(hasher_, needs_rehash("paul-hash")).WillOnce(Return(false));
    const auto response = send(builder);
    ASSERT_EQ(response.status, 302);
    ASSERT_EQ(sessions_.count_for(7), 1U);
    for (const auto& [hash, row] : sessions_.rows) {
      EXPECT_EQ(row.expires_at, clock_.now() + 24 * 3600);
      stored_sid_hash_ = hash;
    }
  }

  // The one remember token of paul that is still unused.
  domain::RememberTokenRecord live_token() {
    for (const auto& [selector, record] : tokens_.rows) {
      if (record.user_id == 7 && record.used_at == 0) {
        return record;
      }
    }
    ADD_FAILURE() << "no live remember token";
    return {};
  }

  StrictMock<testing::MockUserRepository> users_;
  testing::FakeSessionStore sessions_;
  testing::FakeRememberTokenStore tokens_;
  testing::FakeLoginThrottleStore throttle_;
  StrictMock<testing::MockPasswordHasher> hasher_;
  StrictMock<testing::MockAuthEventSink> events_;
  testing::FakeClock clock_;
  testing::FakeRandomSource random_;
  testing::FakePool pool_;
  bool status_enabled_ = false;
  std::vector<std::string> status_allow_;
  crypto::KeyRing keys_{kSecret, {}};
  crypto::SodiumTokenCrypto token_crypto_{keys_, random_};
  view::Renderer renderer_{AUTHFCGI_SOURCE_DIR "/templates"};
  std::unique_ptr<App> app_;
  CookieJar jar_;
  domain::User paul_{7, "paul@example.com", "john", "paul-hash", {}};
  std::string stored_sid_hash_;
};

TEST_F(AppTest, AnonymousIndexCostsNoDatabaseAndSetsNoCookie) {
  const auto response = send(RequestBuilder().get("/"));
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("Hello, Anonymous!"));
  EXPECT_THAT(response.body, HasSubstr(R"(href="/auth/login">Log In<)"));
  EXPECT_TRUE(response.headers_named("Set-Cookie").empty());
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(response.header("Content-Security-Policy"), "frame-ancestors 'none'");
  EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(response.header("Referrer-Policy"), "same-origin");
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
}

TEST_F(AppTest, LoginFormStartsASignedBrowserSessionCookie) {
  const auto response = send(RequestBuilder().get("/auth/login"));
  EXPECT_EQ(response.status, 200);
  const auto cookies = response.headers_named("Set-Cookie");
  ASSERT_EQ(cookies.size(), 1U);
  const std::string cookie(cookies[0]);
  EXPECT_THAT(cookie, HasSubstr("session="));
  EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("SameSite=Lax"));
  EXPECT_THAT(cookie, HasSubstr("Path=/"));
  EXPECT_THAT(cookie, Not(HasSubstr("Expires")));
  EXPECT_THAT(cookie, Not(HasSubstr("Secure")));
}

TEST_F(AppTest, HttpsRequestsGetSecureCookies) {
  const auto response = send(RequestBuilder().get("/auth/login").https());
  EXPECT_THAT(std::string(response.header("Set-Cookie")), HasSubstr("; Secure"));
}

TEST_F(AppTest, PostWithoutCsrfTokenIs400AndLooksNothingUp) {
  fetch_csrf_token();
  const auto response = send(RequestBuilder()
                                 .post("/auth/login")
                                 .field("email", "paul@example.com")
                                 .field("password", "corn"));
  EXPECT_EQ(response.status, 400);
  EXPECT_THAT(response.body, HasSubstr("The CSRF token is missing."));
}

TEST_F(AppTest, PostWithForgedCsrfTokenIs400Invalid) {
  fetch_csrf_token();
  const auto response = send(RequestBuilder()
                                 .post("/auth/login")
                                 .field("csrf_token", "1700000000.AAAA")
                                 .field("email", "paul@example.com")
                                 .field("password", "corn"));
  EXPECT_EQ(response.status, 400);
  EXPECT_THAT(response.body, HasSubstr("The CSRF token is invalid."));
}

TEST_F(AppTest, CsrfTokenFromAnotherBrowserIsInvalid) {
  const auto token = fetch_csrf_token();
  jar_.erase("session");
  fetch_csrf_token();  // a different browser session
  const auto response = send(RequestBuilder()
                                 .post("/auth/login")
                                 .field("csrf_token", token)
                                 .field("email", "paul@example.com")
                                 .field("password", "corn"));
  EXPECT_EQ(response.status, 400);
  EXPECT_THAT(response.body, HasSubstr("The CSRF token is invalid."));
}

TEST_F(AppTest, CsrfTokenExpiresAfterAnHour) {
  const auto token = fetch_csrf_token();
  clock_.advance(3601);
  const auto response = send(RequestBuilder()
                                 .post("/auth/login")
                                 .field("csrf_token", token)
                                 .field("email", "paul@example.com")
                                 .field("password", "corn"));
  EXPECT_EQ(response.status, 400);
  EXPECT_THAT(response.body, HasSubstr("The CSRF token has expired."));
}

TEST_F(AppTest, ValidationErrorsKeepTheEmailAndNeverEchoThePassword) {
  const auto response = send(login_post("not-an-email", "s3cret-pass"));
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("Invalid email address."));
  EXPECT_THAT(response.body, HasSubstr(R"(value="not-an-email")"));
  EXPECT_THAT(response.body, Not(HasSubstr("s3cret-pass")));
}

TEST_F(AppTest, MissingFieldsAreRequired) {
  const auto response = send(login_post("", ""));
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("This field is required."));
}

TEST_F(AppTest, UnknownEmailAndWrongPasswordAnswerAlike) {
  EXPECT_CALL(users_, find_by_email("nobody@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify("dummy-hash", "corn")).WillOnce(Return(false));
  const auto unknown = send(login_post("nobody@example.com", "corn"));

  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("paul-hash", "corn")).WillOnce(Return(false));
  auto wrong = send(login_post("paul@example.com", "corn"));

  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(wrong.status, 200);
  EXPECT_THAT(unknown.body, HasSubstr("Invalid email or password."));
  // The pages differ only in the email typed.
  const auto wrong_body =
      std::regex_replace(wrong.body, std::regex("paul@example.com"), "nobody@example.com");
  EXPECT_EQ(unknown.body, wrong_body);
  EXPECT_EQ(unknown.headers_named("Set-Cookie").size(), wrong.headers_named("Set-Cookie").size());
}

TEST_F(AppTest, FailureFlashShowsOnceOnTheFormItself) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(false));
  EXPECT_THAT(send(login_post("nobody@example.com", "x")).body,
              HasSubstr("Invalid email or password."));
  EXPECT_THAT(send(RequestBuilder().get("/")).body, Not(HasSubstr("Invalid email or password.")));
}

TEST_F(AppTest, SuccessfulLoginStartsAFreshSessionAndGreetsTheUser) {
  fetch_csrf_token();
  const auto anonymous_cookie = jar_.get("session");
  log_in_paul(login_post("Paul@Example.COM", "corn"));
  EXPECT_NE(jar_.get("session"), anonymous_cookie);
  EXPECT_EQ(stored_sid_hash_.size(), 64U);  // a SHA-256, not the session id itself

  const auto index = send(RequestBuilder().get("/"));
  EXPECT_THAT(index.body, HasSubstr("Hello, john!"));
  EXPECT_THAT(index.body, HasSubstr(R"(href="/auth/logout">Log Out<)"));
  EXPECT_THAT(send(RequestBuilder().get("/secret")).body,
              HasSubstr("Only authenticated users are allowed!"));
}

TEST_F(AppTest, LoginHonoursASafeNextOnly) {
  log_in_paul(login_post("paul@example.com", "corn").query("next", "/secret"));
  // log_in_paul asserted the 302; check the Location of a second login with an unsafe next.
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash(_)).WillOnce(Return(false));
  const auto unsafe = send(login_post("paul@example.com", "corn").query("next", "//evil.example"));
  EXPECT_EQ(unsafe.status, 302);
  EXPECT_EQ(unsafe.header("Location"), "/");
}

TEST_F(AppTest, LoginRedirectsToSafeNext) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash(_)).WillOnce(Return(false));
  const auto response = send(login_post("paul@example.com", "corn").query("next", "/secret"));
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.header("Location"), "/secret");
}

TEST_F(AppTest, SecretSendsAnonymousVisitorsToLoginWithAFlashShownOnce) {
  const auto response = send(RequestBuilder().get("/secret"));
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.header("Location"), "/auth/login?next=%2Fsecret");
  const auto form = send(RequestBuilder().get("/auth/login").query("next", "/secret"));
  EXPECT_THAT(form.body, HasSubstr("Please log in to access this page."));
  EXPECT_THAT(form.body, HasSubstr(R"(action="/auth/login?next=%2Fsecret")"));
  EXPECT_THAT(send(RequestBuilder().get("/")).body,
              Not(HasSubstr("Please log in to access this page.")));
}

TEST_F(AppTest, LogoutDeletesTheRowAndFlashesOnce) {
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto logged_in_cookie = jar_.get("session");
  const auto response = send(RequestBuilder().get("/auth/logout"));
  EXPECT_EQ(response.status, 302);
  EXPECT_FALSE(sessions_.rows.contains(stored_sid_hash_));
  EXPECT_EQ(response.header("Location"), "/");
  const auto index = send(RequestBuilder().get("/"));
  EXPECT_THAT(index.body, HasSubstr("You have been logged out."));
  EXPECT_THAT(index.body, HasSubstr("Hello, Anonymous!"));
  EXPECT_THAT(send(RequestBuilder().get("/")).body, Not(HasSubstr("You have been logged out.")));

  // The cookie copied before logout names a row that is gone: anonymous.
  const auto replay =
      app_->handle(RequestBuilder().get("/").cookie("session", logged_in_cookie).build());
  EXPECT_THAT(replay.body, HasSubstr("Hello, Anonymous!"));
}

TEST_F(AppTest, AnonymousLogoutJustRedirects) {
  const auto response = send(RequestBuilder().get("/auth/logout"));
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.header("Location"), "/");
  EXPECT_THAT(send(RequestBuilder().get("/")).body, Not(HasSubstr("logged out")));
}

TEST_F(AppTest, RememberMeSurvivesABrowserRestartAndRotates) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  const auto remember_cookie = jar_.get("remember_token");
  const auto first = live_token();
  ASSERT_FALSE(remember_cookie.empty());
  EXPECT_EQ(remember_cookie.find(first.validator_hash), std::string::npos);

  jar_.erase("session");  // the browser was closed
  EXPECT_CALL(users_, find_by_id(7)).WillOnce(Return(paul_));
  const auto index = send(RequestBuilder().get("/"));
  EXPECT_THAT(index.body, HasSubstr("Hello, john!"));
  EXPECT_TRUE(jar_.has("session"));
  EXPECT_NE(jar_.get("remember_token"), remember_cookie);
  EXPECT_EQ(tokens_.rows.at(first.selector).used_at, clock_.now());
  EXPECT_NE(live_token().selector, first.selector);
}

TEST_F(AppTest, ReusedRememberTokenRevokesEveryLoginOfTheUser) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  const auto copied = jar_.get("remember_token");
  jar_.erase("session");
  EXPECT_CALL(users_, find_by_id(7)).WillOnce(Return(paul_));
  EXPECT_THAT(send(RequestBuilder().get("/")).body, HasSubstr("Hello, john!"));

  // Two minutes later the copy of the exchanged token comes back.
  clock_.advance(120);
  const auto response =
      app_->handle(RequestBuilder().get("/").cookie("remember_token", copied).build());
  EXPECT_THAT(response.body, HasSubstr("Hello, Anonymous!"));
  EXPECT_THAT(std::string(response.header("Set-Cookie")), HasSubstr("Max-Age=0"));
  EXPECT_EQ(sessions_.count_for(7), 0U);
  EXPECT_EQ(tokens_.count_for(7), 0U);
  EXPECT_THAT(send(RequestBuilder().get("/")).body, HasSubstr("Hello, Anonymous!"));
}

TEST_F(AppTest, LogoutFromARememberedBrowserEndsItsTokenWithoutIssuingOne) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  jar_.erase("session");  // the browser was closed; only the remember cookie is left
  EXPECT_CALL(users_, find_by_id(7)).WillOnce(Return(paul_));
  const auto response = send(RequestBuilder().get("/auth/logout"));
  EXPECT_EQ(response.status, 302);
  for (const auto header : response.headers_named("Set-Cookie")) {
    if (header.starts_with("remember_token=")) {
      EXPECT_THAT(std::string(header), HasSubstr("Max-Age=0"));
    }
  }
  EXPECT_FALSE(jar_.has("remember_token"));
  EXPECT_EQ(tokens_.count_for(7), 0U);
  EXPECT_EQ(sessions_.count_for(7), 1U);  // only the password login's; none was started
  EXPECT_THAT(send(RequestBuilder().get("/")).body, HasSubstr("You have been logged out."));
}

TEST_F(AppTest, ASelectorWithoutItsValidatorCannotDeleteAToken) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  const auto stolen = jar_.get("remember_token");
  const auto selector = stolen.substr(0, stolen.find('.'));
  EXPECT_CALL(users_, find_by_id(7)).WillOnce(Return(paul_));
  const auto thief =
      app_->handle(RequestBuilder().get("/").cookie("remember_token", stolen).build());
  EXPECT_THAT(thief.body, HasSubstr("Hello, john!"));

  const auto trick =
      app_->handle(RequestBuilder()
                       .get("/auth/logout")
                       .cookie("remember_token", selector + "." + std::string(43, 'A'))
                       .build());
  EXPECT_EQ(trick.status, 302);
  ASSERT_TRUE(tokens_.rows.contains(selector)) << "a selector alone deleted the token";

  clock_.advance(120);
  const auto victim =
      app_->handle(RequestBuilder().get("/").cookie("remember_token", stolen).build());
  EXPECT_THAT(victim.body, HasSubstr("Hello, Anonymous!"));
  EXPECT_EQ(sessions_.count_for(7), 0U);
  EXPECT_EQ(tokens_.count_for(7), 0U);
}

TEST_F(AppTest, TokenJustUsedByAParallelRequestIsOnlyIgnored) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  const auto old_cookie = jar_.get("remember_token");
  jar_.erase("session");
  EXPECT_CALL(users_, find_by_id(7)).WillOnce(Return(paul_));
  send(RequestBuilder().get("/"));
  clock_.advance(5);
  const auto response =
      app_->handle(RequestBuilder().get("/").cookie("remember_token", old_cookie).build());
  EXPECT_THAT(response.body, HasSubstr("Hello, Anonymous!"));
  // The parallel request that won sent the browser its new token: it must not be cleared.
  EXPECT_TRUE(response.headers_named("Set-Cookie").empty());
  EXPECT_EQ(sessions_.count_for(7), 2U);
}

TEST_F(AppTest, WrongValidatorLeavesTheTokenAlone) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  std::string forged = jar_.get("remember_token");
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  const auto response =
      app_->handle(RequestBuilder().get("/").cookie("remember_token", forged).build());
  EXPECT_THAT(response.body, HasSubstr("Hello, Anonymous!"));
  EXPECT_EQ(live_token().used_at, 0);
}

TEST_F(AppTest, RememberCookieSetsAYearLongHttpOnlyCookie) {
  fetch_csrf_token();
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash(_)).WillOnce(Return(false));
  const auto response = send(login_post("paul@example.com", "corn").field("remember_me", "y"));
  bool found = false;
  for (const auto header : response.headers_named("Set-Cookie")) {
    if (header.rfind("remember_token=", 0) == 0) {
      found = true;
      EXPECT_THAT(std::string(header), HasSubstr("Max-Age=31536000"));
      EXPECT_THAT(std::string(header), HasSubstr("HttpOnly"));
      EXPECT_THAT(std::string(header), HasSubstr("SameSite=Lax"));
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(AppTest, LoggingInAgainReplacesTheBrowsersToken) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  const auto first = live_token();
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash(_)).WillOnce(Return(false));
  const auto again = send(login_post("paul@example.com", "corn"));
  EXPECT_EQ(again.status, 302);
  EXPECT_FALSE(tokens_.rows.contains(first.selector));
  EXPECT_FALSE(jar_.has("remember_token"));
}

TEST_F(AppTest, ForgedRememberCookieIsIgnoredAndCleared) {
  const auto response = send(RequestBuilder().get("/").cookie(
      "remember_token", "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  EXPECT_THAT(response.body, HasSubstr("Hello, Anonymous!"));
  EXPECT_THAT(std::string(response.header("Set-Cookie")), HasSubstr("Max-Age=0"));
}

TEST_F(AppTest, CrossSiteLogoutLinkAsksToConfirmWithACsrfProtectedPost) {
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto page =
      send(RequestBuilder().get("/auth/logout").header("sec-fetch-site", "cross-site"));
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr(R"(method="post" action="/auth/logout")"));
  EXPECT_TRUE(sessions_.rows.contains(stored_sid_hash_));
  EXPECT_THAT(send(RequestBuilder().get("/")).body, HasSubstr("Hello, john!"));

  const auto forged = send(RequestBuilder().post("/auth/logout").field("csrf_token", "1.AAAA"));
  EXPECT_EQ(forged.status, 400);
  EXPECT_TRUE(sessions_.rows.contains(stored_sid_hash_));

  std::smatch match;
  const std::regex token(R"re(name="csrf_token" type="hidden" value="([^"]+)")re");
  ASSERT_TRUE(std::regex_search(page.body, match, token));
  const auto confirmed =
      send(RequestBuilder().post("/auth/logout").field("csrf_token", match[1].str()));
  EXPECT_EQ(confirmed.status, 302);
  EXPECT_FALSE(sessions_.rows.contains(stored_sid_hash_));
  EXPECT_THAT(send(RequestBuilder().get("/")).body, HasSubstr("You have been logged out."));
}

TEST_F(AppTest, SameSiteLogoutLinkLogsOut) {
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto response =
      send(RequestBuilder().get("/auth/logout").header("sec-fetch-site", "same-origin"));
  EXPECT_EQ(response.status, 302);
  EXPECT_FALSE(sessions_.rows.contains(stored_sid_hash_));
}

TEST_F(AppTest, PendingFlashesStayFewAndUnrepeated) {
  for (int visit = 0; visit < 72; ++visit) {
    EXPECT_EQ(send(RequestBuilder().get("/secret")).status, 302);
  }
  EXPECT_LT(jar_.get("session").size(), 400U);
  const auto form = send(RequestBuilder().get("/auth/login"));
  const std::string flash = "Please log in to access this page.";
  const auto first = form.body.find(flash);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(form.body.find(flash, first + 1), std::string::npos) << "shown twice";
}

TEST_F(AppTest, TamperedSessionCookieIsAnonymousNotAnError) {
  log_in_paul(login_post("paul@example.com", "corn"));
  std::string cookie = jar_.get("session");
  cookie[cookie.size() / 2] = cookie[cookie.size() / 2] == 'A' ? 'B' : 'A';
  const auto response = app_->handle(RequestBuilder().get("/").cookie("session", cookie).build());
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("Hello, Anonymous!"));
}

TEST_F(AppTest, ThrottledLoginIs429WithRetryAfterAndNoLogin) {
  // Five failures of this account from this address, just now.
  const domain::ThrottleKey pair{domain::ThrottleScope::Pair, "paul@example.com", "127.0.0.1", {}};
  for (int i = 0; i < 5; ++i) {
    throttle_.rows.push_back({pair, "earlier", false, clock_.now(), clock_.now() + 3600});
  }
  const auto response = send(login_post("paul@example.com", "corn"));
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.header("Retry-After"), "60");
  EXPECT_THAT(response.body,
              HasSubstr("Too many failed login attempts. Please try again in 1 minute."));
  EXPECT_THAT(response.body, HasSubstr(R"(value="paul@example.com")"));
  EXPECT_THAT(send(RequestBuilder().get("/")).body, HasSubstr("Hello, Anonymous!"));
}

TEST_F(AppTest, ASuccessfulLoginSetsADeviceCookieForTheLoginFormOnly) {
  EXPECT_CALL(users_, find_by_email("paul@example.com")).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify("paul-hash", "corn")).WillOnce(Return(true));
  EXPECT_CALL(hasher_, needs_rehash("paul-hash")).WillOnce(Return(false));
  const auto response = send(login_post("paul@example.com", "corn"));
  ASSERT_EQ(response.status, 302);
  std::string device;
  for (const auto header : response.headers_named("Set-Cookie")) {
    if (header.starts_with("device=")) {
      device = std::string(header);
    }
  }
  EXPECT_THAT(device, HasSubstr("; Path=/auth/"));
  EXPECT_THAT(device, HasSubstr("; Max-Age=31536000"));
  EXPECT_THAT(device, HasSubstr("; HttpOnly"));
  EXPECT_THAT(device, HasSubstr("; SameSite=Lax"));
  // It names the account only by a keyed hash.
  EXPECT_THAT(device, Not(HasSubstr("paul")));
  EXPECT_THAT(device, Not(HasSubstr("7:")));
}

TEST_F(AppTest, AFailedLoginSetsNoDeviceCookie) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(paul_));
  EXPECT_CALL(hasher_, verify(_, _)).WillOnce(Return(false));
  const auto response = send(login_post("paul@example.com", "wrong"));
  for (const auto header : response.headers_named("Set-Cookie")) {
    EXPECT_FALSE(header.starts_with("device=")) << header;
  }
}

TEST_F(AppTest, ABrowserWithItsDeviceCookieLogsInWhileTheAccountIsLockedForOthers) {
  log_in_paul(login_post("paul@example.com", "corn"));
  ASSERT_FALSE(jar_.get("device").empty());
  send(RequestBuilder().post("/auth/logout").field("csrf_token", fetch_csrf_token()));
  // Guessers from fifty addresses, just now.
  const domain::ThrottleKey account{domain::ThrottleScope::Account, "paul@example.com", {}, {}};
  for (int i = 0; i < 50; ++i) {
    throttle_.rows.push_back({account, "guess", false, clock_.now(), clock_.now() + 3600});
  }
  log_in_paul(login_post("paul@example.com", "corn"));

  // Another browser, with the right password, waits.
  CookieJar other;
  std::swap(jar_, other);
  const auto refused = send(login_post("paul@example.com", "corn"));
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.header("Retry-After"), "3600");
  EXPECT_THAT(refused.body, HasSubstr("Please try again in 60 minutes."));
}

TEST_F(AppTest, ATamperedDeviceCookieIsAnUntrustedBrowserNotAnError) {
  log_in_paul(login_post("paul@example.com", "corn"));
  std::string device = jar_.get("device");
  device[device.size() / 2] = device[device.size() / 2] == 'A' ? 'B' : 'A';
  jar_.set("device", device);
  const domain::ThrottleKey account{domain::ThrottleScope::Account, "paul@example.com", {}, {}};
  for (int i = 0; i < 50; ++i) {
    throttle_.rows.push_back({account, "guess", false, clock_.now(), clock_.now() + 3600});
  }
  EXPECT_EQ(send(login_post("paul@example.com", "corn")).status, 429);
}

TEST_F(AppTest, VerifyAnswersALoggedInUserWithTheRemoteHeadersAndNoBody) {
  sessions_.users[7].groups = {"admins", "staff"};
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto response = send(RequestBuilder()
                                 .get("/auth/verify")
                                 .gateway()
                                 .header("x-original-uri", "/admin/")
                                 .require_group("admins"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Remote-User"), "john");
  EXPECT_EQ(response.header("Remote-Email"), "paul@example.com");
  EXPECT_EQ(response.header("Remote-Groups"), "admins,staff");
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
}

TEST_F(AppTest, VerifySendsAnAnonymousBrowserToTheLoginPageWithTheUriAsNext) {
  const auto response = send(RequestBuilder()
                                 .get("/auth/verify")
                                 .gateway()
                                 .header("x-original-uri", "/private/a.html?x=1&y=2"));
  EXPECT_EQ(response.status, 401);
  // The URI as the browser sent it (nginx's $request_uri), encoded as a query value.
  EXPECT_EQ(response.header("Location"), "/auth/login?next=%2Fprivate%2Fa.html%3Fx%3D1%26y%3D2");
  EXPECT_TRUE(response.header("Remote-User").empty());
  EXPECT_TRUE(response.headers_named("Set-Cookie").empty()) << "an anonymous verify costs nothing";
}

TEST_F(AppTest, VerifyDropsAnUnsafeUriFromNextByTheLoginFormsRule) {
  for (const char* uri : {"//evil.example/", "/%2F%2Fevil.example", "/a%20b"}) {
    const auto response =
        send(RequestBuilder().get("/auth/verify").gateway().header("x-original-uri", uri));
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(response.header("Location"), "/auth/login") << uri;
  }
}

TEST_F(AppTest, VerifyForbidsAUserWithoutTheGroupAndTheForbiddenPageSays403) {
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto response = send(RequestBuilder()
                                 .get("/auth/verify")
                                 .gateway()
                                 .header("x-original-uri", "/admin/")
                                 .require_group("admins, staff"));
  EXPECT_EQ(response.status, 403);
  EXPECT_TRUE(response.header("Remote-User").empty());
  const auto page = send(RequestBuilder().get("/auth/forbidden"));
  EXPECT_EQ(page.status, 403);
  EXPECT_THAT(page.body, HasSubstr("Forbidden"));
  EXPECT_THAT(page.body, HasSubstr(R"(href="/auth/logout">Log Out<)")) << "the same layout";
}

TEST_F(AppTest, VerifyRestoresARememberedBrowserAndHandsBothCookiesToTheGateway) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  jar_.erase("session");  // the browser was closed
  EXPECT_CALL(users_, find_by_id(7)).WillOnce(Return(paul_));
  EXPECT_CALL(users_, groups_of(7)).WillOnce(Return(std::vector<std::string>{"admins"}));
  const auto response = app_->handle([&] {
    Request request =
        RequestBuilder().get("/auth/verify").gateway().header("x-original-uri", "/admin/").build();
    jar_.apply(request);
    return request;
  }());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Remote-Groups"), "admins");
  // One header per cookie: nginx's auth_request would keep only the first Set-Cookie.
  EXPECT_TRUE(response.headers_named("Set-Cookie").empty());
  EXPECT_THAT(std::string(response.header("Authfcgi-Set-Session")), HasSubstr("session="));
  EXPECT_THAT(std::string(response.header("Authfcgi-Set-Remember")), HasSubstr("remember_token="));
}

TEST_F(AppTest, VerifyAskedForByABrowserIsNotFoundAndSpendsNoRememberToken) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  jar_.erase("session");
  const auto token = jar_.get("remember_token");
  // A cross-site link that sends the browser itself to /auth/verify: no restore happens there.
  const auto response = send(RequestBuilder().get("/auth/verify"));
  EXPECT_EQ(response.status, 404);
  EXPECT_TRUE(response.headers_named("Set-Cookie").empty());
  EXPECT_TRUE(response.header("Authfcgi-Set-Remember").empty());
  EXPECT_EQ(jar_.get("remember_token"), token);
}

TEST_F(AppTest, AuthorizerAllowsWithVariablesOnlyForApache) {
  sessions_.users[7].groups = {"admins", "staff"};
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto response = send(RequestBuilder()
                                 .get("/auth/verify")
                                 .gateway(GatewayCall::Authorizer)
                                 .header("x-original-uri", "/admin/")
                                 .require_group("staff"));
  EXPECT_EQ(response.status, 200);
  // Every header but Variable-* reaches the browser with the protected page: there are none.
  ASSERT_EQ(response.headers.size(), 3U);
  EXPECT_EQ(response.header("Variable-REMOTE_USER"), "john");
  EXPECT_EQ(response.header("Variable-REMOTE_EMAIL"), "paul@example.com");
  EXPECT_EQ(response.header("Variable-REMOTE_GROUPS"), "admins,staff");
  EXPECT_TRUE(response.body.empty());
}

TEST_F(AppTest, AuthorizerRedirectsAnAnonymousBrowserToTheLoginPage) {
  const auto response = send(RequestBuilder()
                                 .get("/auth/verify")
                                 .gateway(GatewayCall::Authorizer)
                                 .header("x-original-uri", "/private/x?a=1"));
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.header("Location"), "/auth/login?next=%2Fprivate%2Fx%3Fa%3D1");
  EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
}

TEST_F(AppTest, AuthorizerForbidsWithTheForbiddenPageAsItsBody) {
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto response = send(RequestBuilder()
                                 .get("/auth/verify")
                                 .gateway(GatewayCall::Authorizer)
                                 .header("x-original-uri", "/admin/")
                                 .require_group("admins"));
  EXPECT_EQ(response.status, 403);
  EXPECT_TRUE(response.header("Variable-REMOTE_USER").empty());
  EXPECT_THAT(response.body, HasSubstr("Forbidden"));
  EXPECT_THAT(response.body, HasSubstr(R"(href="/auth/logout">Log Out<)"));
  // Apache labels it ISO-8859-1: any other character travels as a reference.
  EXPECT_TRUE(std::all_of(response.body.begin(), response.body.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
}

TEST_F(AppTest, AuthorizerRestoresARememberedBrowserWithRealSetCookieHeaders) {
  log_in_paul(login_post("paul@example.com", "corn").field("remember_me", "y"));
  jar_.erase("session");
  const auto old_token = jar_.get("remember_token");
  EXPECT_CALL(users_, find_by_id(7)).WillOnce(Return(paul_));
  const auto response = send(RequestBuilder()
                                 .get("/auth/verify")
                                 .gateway(GatewayCall::Authorizer)
                                 .header("x-original-uri", "/private/"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Variable-REMOTE_USER"), "john");
  // Apache passes these on to the browser itself (with the protected page).
  EXPECT_EQ(response.headers_named("Set-Cookie").size(), 2U);
  EXPECT_FALSE(jar_.get("session").empty());
  EXPECT_NE(jar_.get("remember_token"), old_token);
}

TEST_F(AppTest, VerifyOnlyAnswersGetAndHead) {
  EXPECT_EQ(send(RequestBuilder().post("/auth/verify")).status, 404) << "not the gateway's call";
  const auto response = send(RequestBuilder().post("/auth/verify").gateway());
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD");
}

TEST_F(AppTest, SessionsSurviveASecretRotation) {
  log_in_paul(login_post("paul@example.com", "corn"));
  const auto old_cookie = jar_.get("session");

  // The operator rotates the secret and keeps the old one for verification only.
  const crypto::KeyRing rotated{"a-brand-new-secret-of-at-least-32-bytes!!", {kSecret}};
  const crypto::SodiumTokenCrypto rotated_crypto{rotated, random_};
  testing::MockPasswordHasher rotated_hasher;
  App rotated_app(dependencies(rotated_hasher, rotated, rotated_crypto));
  const auto response =
      rotated_app.handle(RequestBuilder().get("/").cookie("session", old_cookie).build());
  EXPECT_THAT(response.body, HasSubstr("Hello, john!"));

  // Without the old secret among the previous ones, the same cookie is anonymous.
  const crypto::KeyRing replaced{"a-brand-new-secret-of-at-least-32-bytes!!", {}};
  const crypto::SodiumTokenCrypto replaced_crypto{replaced, random_};
  App replaced_app(dependencies(rotated_hasher, replaced, replaced_crypto));
  EXPECT_THAT(
      replaced_app.handle(RequestBuilder().get("/").cookie("session", old_cookie).build()).body,
      HasSubstr("Hello, Anonymous!"));
}

TEST_F(AppTest, ConfiguredSecureCookiesAreSecureWithoutHttps) {
  domain::SessionSettings forced;
  forced.force_secure_cookies = true;
  testing::MockPasswordHasher other_hasher;
  App secure_app(dependencies(other_hasher, keys_, token_crypto_, forced));
  const auto response = secure_app.handle(RequestBuilder().get("/auth/login").build());
  EXPECT_THAT(std::string(response.header("Set-Cookie")), HasSubstr("; Secure"));
}

TEST_F(AppTest, SessionStoreOutageOnALoggedInPageIs503) {
  log_in_paul(login_post("paul@example.com", "corn"));
  sessions_.unavailable = true;
  const auto response = send(RequestBuilder().get("/secret"));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.header("Retry-After"), "5");
}

TEST_F(AppTest, DatabaseOutageIs503) {
  EXPECT_CALL(users_, find_by_email(_))
      .WillOnce(::testing::Throw(domain::StorageUnavailable("down")));
  const auto response = send(login_post("paul@example.com", "corn"));
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.body, Not(HasSubstr("down")));
  EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
}

TEST_F(AppTest, UnknownPathIsAnHtml404InTheLayout) {
  const auto response = send(RequestBuilder().get("/nope"));
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body, HasSubstr("Not Found"));
  EXPECT_THAT(response.body, HasSubstr("Log In"));
}

TEST_F(AppTest, WrongMethodIs405WithAllow) {
  const auto response = send(RequestBuilder().post("/"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD");
}

// The response writer leaves HEAD's body out and sends its length: the same as GET's.
TEST_F(AppTest, HeadIsAnsweredLikeGet) {
  const auto head = send(RequestBuilder().head("/"));
  const auto get = send(RequestBuilder().get("/"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, get.body);
  EXPECT_EQ(head.headers, get.headers);
}

TEST_F(AppTest, StatusAndPingAre404UnlessEnabled) {
  EXPECT_EQ(send(RequestBuilder().get("/auth/status")).status, 404);
  EXPECT_EQ(send(RequestBuilder().get("/auth/ping")).status, 404);
}

TEST_F(AppTest, PingAnswersPong) {
  status_enabled_ = true;
  App app(dependencies(hasher_, keys_, token_crypto_));
  const auto response = app.handle(RequestBuilder().get("/auth/ping").build());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "pong\n");
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
}

TEST_F(AppTest, StatusShowsThePoolsCountersAsTextJsonAndOpenMetricsWithoutACookie) {
  status_enabled_ = true;
  pool_.status.pool = "/run/authfcgi/authfcgi.sock";
  pool_.status.start_time = clock_.now() - 60;
  pool_.status.processes = 2;
  pool_.status.threads = 8;
  pool_.status.active_threads = 3;
  pool_.status.accepted = 1234;
  pool_.status.responses = {0, 1000, 200, 30, 4};
  pool_.count(domain::PoolEvent::LoginOk);
  App app(dependencies(hasher_, keys_, token_crypto_));

  const auto text = app.handle(RequestBuilder().get("/auth/status").build());
  EXPECT_EQ(text.status, 200);
  EXPECT_EQ(text.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_THAT(text.body, HasSubstr("pool:                    /run/authfcgi/authfcgi.sock\n"));
  EXPECT_THAT(text.body, HasSubstr("start since:             60\n"));
  EXPECT_THAT(text.body, HasSubstr("accepted requests:       1234\n"));
  EXPECT_THAT(text.body, HasSubstr("idle threads:            5\n"));
  EXPECT_THAT(text.body, HasSubstr("responses 5xx:           4\n"));
  EXPECT_THAT(text.body, HasSubstr("logins ok:               1\n"));
  EXPECT_THAT(text.body, HasSubstr("mail queued:             unknown\n")) << "no outbox here";
  EXPECT_TRUE(text.headers_named("Set-Cookie").empty());

  const auto json = app.handle(RequestBuilder().get("/auth/status").query("json", "").build());
  EXPECT_EQ(json.header("Content-Type"), "application/json");
  EXPECT_THAT(json.body, HasSubstr("\"accepted_requests\": 1234,"));
  EXPECT_THAT(json.body, HasSubstr("\"responses\": {\"1xx\": 0, \"2xx\": 1000, \"3xx\": 200"));
  EXPECT_THAT(json.body, HasSubstr("\"mail_queued\": null"));

  const auto metrics =
      app.handle(RequestBuilder().get("/auth/status").query("openmetrics", "").build());
  EXPECT_EQ(metrics.header("Content-Type"),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_THAT(metrics.body, HasSubstr("authfcgi_accepted_requests_total 1234\n"));
  EXPECT_THAT(metrics.body, HasSubstr("authfcgi_threads{state=\"idle\"} 5\n"));
  EXPECT_THAT(metrics.body, HasSubstr("authfcgi_logins_total{outcome=\"ok\"} 1\n"));
  EXPECT_TRUE(metrics.body.ends_with("\n# EOF\n"));
}

TEST_F(AppTest, StatusRefusesAPostWith405) {
  status_enabled_ = true;
  App app(dependencies(hasher_, keys_, token_crypto_));
  const auto response = app.handle(RequestBuilder().post("/auth/status").build());
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD");
}

TEST_F(AppTest, TheGatewaysAnswersAreCountedByOutcome) {
  send(RequestBuilder().get("/auth/verify").gateway().header("x-original-uri", "/private/"));
  log_in_paul(login_post("paul@example.com", "corn"));
  send(RequestBuilder().get("/auth/verify").gateway().header("x-original-uri", "/private/"));
  send(RequestBuilder()
           .get("/auth/verify")
           .gateway()
           .header("x-original-uri", "/admin/")
           .require_group("admins"));
  send(RequestBuilder().get("/auth/verify"));  // a browser's own: 404, not an answer
  EXPECT_EQ(pool_.status.event(domain::PoolEvent::VerifyLogin), 1U);
  EXPECT_EQ(pool_.status.event(domain::PoolEvent::VerifyAllowed), 1U);
  EXPECT_EQ(pool_.status.event(domain::PoolEvent::VerifyForbidden), 1U);
}

TEST_F(AppTest, ADatabaseOutageIsCounted) {
  log_in_paul(login_post("paul@example.com", "corn"));
  sessions_.unavailable = true;
  EXPECT_EQ(send(RequestBuilder().get("/secret")).status, 503);
  EXPECT_EQ(pool_.status.event(domain::PoolEvent::DatabaseError), 1U);
}

TEST_F(AppTest, StatusAnswersLoopbackAndTheAllowedAddressesOnly) {
  status_enabled_ = true;
  status_allow_ = {"192.0.2.10", "2001:db8::7"};
  App app(dependencies(hasher_, keys_, token_crypto_));
  const auto status_from = [&app](const std::string& address) {
    return app.handle(RequestBuilder().get("/auth/status").from(address).build()).status;
  };
  EXPECT_EQ(status_from("127.0.0.1"), 200);
  EXPECT_EQ(status_from("127.3.4.5"), 200);
  EXPECT_EQ(status_from("::1"), 200);
  EXPECT_EQ(status_from("::ffff:127.0.0.1"), 200);
  EXPECT_EQ(status_from("192.0.2.10"), 200);
  EXPECT_EQ(status_from("2001:DB8:0::7"), 200) << "compared as addresses, not as text";
  EXPECT_EQ(status_from("192.0.2.11"), 403);
  EXPECT_EQ(status_from("203.0.113.7"), 403);
  EXPECT_EQ(status_from(""), 403);
  EXPECT_EQ(app.handle(RequestBuilder().get("/auth/ping").from("203.0.113.7").build()).status, 403);
}

}  // namespace
}  // namespace authfcgi::web
