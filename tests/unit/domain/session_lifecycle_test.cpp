#include "domain/session_lifecycle.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "crypto/base64url.h"
#include "crypto/key_ring.h"
#include "crypto/sodium_random_source.h"
#include "crypto/sodium_token_crypto.h"
#include "fakes/fake_random_source.h"
#include "fakes/fake_stores.h"

namespace authfcgi::domain {
namespace {

constexpr std::string_view kSecret = "test-secret-of-at-least-32-bytes-0123456789";

// A new session's id and CSRF secret are both 32 fresh random bytes, never the same bytes:
// knowing one (the id is hashed into the database) must not give away the other.
TEST(SessionLifecycle, NewSessionGetsTwoDistinctFullLengthSecrets) {
  testing::FakeSessionStore store;
  const testing::FakeRandomSource random;
  const crypto::KeyRing keys{kSecret, {}};
  const crypto::SodiumTokenCrypto token_crypto{keys, random};
  const SessionLifecycle lifecycle(store, token_crypto, SessionSettings{});
  SessionState session;
  lifecycle.ensure_started(session, 1000);
  const auto sid = crypto::base64url_decode(session.sid);
  const auto csrf_secret = crypto::base64url_decode(session.csrf_secret);
  ASSERT_TRUE(sid && csrf_secret);
  EXPECT_EQ(sid->size(), 32U);
  EXPECT_EQ(csrf_secret->size(), 32U);
  EXPECT_NE(*sid, *csrf_secret);
  EXPECT_EQ(session.issued_at, 1000);
  EXPECT_FALSE(session.user_id);
  EXPECT_TRUE(store.rows.empty()) << "an anonymous session costs no row";
}

TEST(SessionLifecycle, EverySessionAndLoginDrawsNewSecrets) {
  testing::FakeSessionStore store;
  const crypto::SodiumRandomSource random;
  const crypto::KeyRing keys{kSecret, {}};
  const crypto::SodiumTokenCrypto token_crypto{keys, random};
  SessionLifecycle lifecycle(store, token_crypto, SessionSettings{});
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    SessionState session;
    lifecycle.ensure_started(session, 1000);
    const std::string anonymous_sid = session.sid;
    EXPECT_TRUE(seen.insert(session.sid).second);
    EXPECT_TRUE(seen.insert(session.csrf_secret).second);
    lifecycle.log_in(session, 7, 1001);
    EXPECT_NE(session.sid, anonymous_sid);
    EXPECT_TRUE(seen.insert(session.sid).second);
    EXPECT_TRUE(seen.insert(session.csrf_secret).second);
    SessionState second;
    lifecycle.log_in(second, 7, 1002);
    EXPECT_TRUE(seen.insert(second.sid).second);
  }
  EXPECT_EQ(store.count_for(7), 20U);
}

TEST(SessionLifecycle, AUserHoldsAtMostAHundredSessionsAndANewOneEndsTheOldest) {
  testing::FakeSessionStore store;
  store.users[7] = CurrentUser{7, "ann@example.com", "ann", {}, true};
  const crypto::SodiumRandomSource random;  // 101 distinct session ids
  const crypto::KeyRing keys{kSecret, {}};
  const crypto::SodiumTokenCrypto token_crypto{keys, random};
  SessionLifecycle lifecycle(store, token_crypto, SessionSettings{});
  SessionState oldest;
  lifecycle.log_in(oldest, 7, 1000);
  SessionState second;
  lifecycle.log_in(second, 7, 1000);
  for (std::size_t i = 2; i < kMaxSessionsPerUser; ++i) {
    SessionState session;
    lifecycle.log_in(session, 7, 1000);
  }
  EXPECT_TRUE(lifecycle.load_user(oldest, 1001)) << "100 sessions are allowed";

  SessionState newest;
  lifecycle.log_in(newest, 7, 1000);  // same second: creation order decides
  EXPECT_EQ(store.count_for(7), kMaxSessionsPerUser);
  EXPECT_FALSE(lifecycle.load_user(oldest, 1001)) << "the oldest session must end";
  EXPECT_TRUE(lifecycle.load_user(second, 1001));
  EXPECT_TRUE(lifecycle.load_user(newest, 1001));
}

TEST(SessionLifecycle, LogoutRemovesTheRowAndKeepsFlashes) {
  testing::FakeSessionStore store;
  store.users[7] = CurrentUser{7, "ann@example.com", "ann", {}, true};
  const testing::FakeRandomSource random;
  const crypto::KeyRing keys{kSecret, {}};
  const crypto::SodiumTokenCrypto token_crypto{keys, random};
  SessionLifecycle lifecycle(store, token_crypto, SessionSettings{});
  SessionState session;
  lifecycle.log_in(session, 7, 1000);
  const SessionState copied = session;
  add_flash(session, "You have been logged out.");
  lifecycle.log_out(session, 1001);
  EXPECT_TRUE(store.rows.empty());
  EXPECT_FALSE(session.user_id);
  EXPECT_NE(session.sid, copied.sid);
  EXPECT_EQ(session.flashes, std::vector<std::string>{"You have been logged out."});
  EXPECT_FALSE(lifecycle.load_user(copied, 1002));
}

TEST(PendingFlashes, AreNotRepeatedAndAtMostFiveWithTheNewestKept) {
  SessionState session;
  for (int i = 0; i < 3; ++i) {
    add_flash(session, "Please log in to access this page.");
  }
  EXPECT_EQ(session.flashes.size(), 1U);
  for (int i = 1; i <= 7; ++i) {
    add_flash(session, "message " + std::to_string(i));
  }
  EXPECT_EQ(session.flashes, (std::vector<std::string>{"message 3", "message 4", "message 5",
                                                       "message 6", "message 7"}));
}

}  // namespace
}  // namespace authfcgi::domain
