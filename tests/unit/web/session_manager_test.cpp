#include "web/session_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "crypto/base64url.h"
#include "crypto/sodium_random_source.h"
#include "fakes/fake_random_source.h"
#include "mocks/mocks.h"

namespace authfcgi::web {
namespace {

using ::testing::_;
using ::testing::StrictMock;

// A new session's id and CSRF secret are both 32 fresh random bytes, never the same bytes:
// knowing one (the id is hashed into the database) must not give away the other.
TEST(SessionManager, NewSessionGetsTwoDistinctFullLengthSecrets) {
  StrictMock<testing::MockSessionStore> store;
  const testing::FakeRandomSource random;
  const SessionManager manager(store, random, config::SessionConfig{});
  domain::SessionState session;
  manager.ensure_started(session, 1000);
  const auto sid = crypto::base64url_decode(session.sid);
  const auto csrf_secret = crypto::base64url_decode(session.csrf_secret);
  ASSERT_TRUE(sid && csrf_secret);
  EXPECT_EQ(sid->size(), 32U);
  EXPECT_EQ(csrf_secret->size(), 32U);
  EXPECT_NE(*sid, *csrf_secret);
  EXPECT_EQ(session.issued_at, 1000);
  EXPECT_FALSE(session.user_id);
}

TEST(SessionManager, EverySessionAndLoginDrawsNewSecrets) {
  testing::MockSessionStore store;
  EXPECT_CALL(store, create(_, 7, _)).Times(20);
  const crypto::SodiumRandomSource random;
  SessionManager manager(store, random, config::SessionConfig{});
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    domain::SessionState session;
    manager.ensure_started(session, 1000);
    const std::string anonymous_sid = session.sid;
    EXPECT_TRUE(seen.insert(session.sid).second);
    EXPECT_TRUE(seen.insert(session.csrf_secret).second);
    manager.log_in(session, 7, 1001);
    EXPECT_NE(session.sid, anonymous_sid);
    EXPECT_TRUE(seen.insert(session.sid).second);
    EXPECT_TRUE(seen.insert(session.csrf_secret).second);
    domain::SessionState second;
    manager.log_in(second, 7, 1002);
    EXPECT_TRUE(seen.insert(second.sid).second);
  }
}

}  // namespace
}  // namespace authfcgi::web
