#include "domain/housekeeping.h"

#include <gtest/gtest.h>

#include <string>

#include "domain/errors.h"
#include "fakes/fake_accounts.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_login_throttle_store.h"
#include "fakes/fake_mail.h"
#include "fakes/fake_random_source.h"
#include "fakes/fake_stores.h"

namespace authfcgi::domain {
namespace {

constexpr std::int64_t kHour = 3600;
constexpr UserId kAnn = 7;

// Each table with rows past their retention and rows still needed: housekeeping deletes the
// first and never the second.
class HousekeepingTest : public ::testing::Test {
 protected:
  std::int64_t now() const { return clock_.now(); }

  void add_session(const std::string& sid_hash, std::int64_t expires_at) {
    sessions_.create(sid_hash, kAnn, expires_at);
  }
  void add_remember_token(const std::string& selector, std::int64_t expires_at,
                          std::int64_t used_at) {
    remember_tokens_.insert({selector, "hash", kAnn, expires_at, used_at, expires_at - 30 * 86400});
  }
  void add_throttle_failure(const std::string& address, std::int64_t expires_at) {
    throttle_store_.rows.push_back({ThrottleKey{ThrottleScope::Address, {}, address, {}}, "attempt",
                                    false, expires_at - kHour, expires_at, 0});
  }
  void add_account_token(const std::string& digest, std::int64_t expires_at) {
    account_tokens_.add(digest,
                        AccountToken{kAnn, TokenPurpose::ConfirmAccount, "", expires_at, ""});
  }
  enum class MailState { Pending, Sent, GivenUp };
  // A mail queued `age` seconds ago; its id.
  std::int64_t add_mail(std::int64_t age, MailState state) {
    outbox_.enqueue({"ann@example.com", "subject", "text", "<p>html</p>"}, MailKind::ConfirmAccount,
                    "203.0.113.0", now() - age);
    const std::int64_t id = outbox_.rows.back().id;
    if (state == MailState::Sent) {
      outbox_.mark_sent(id, now() - age + 1);
    } else if (state == MailState::GivenUp) {
      outbox_.retry_later(id, MailOutbox::kNeverAgain, "550 no such mailbox");
    }
    return id;
  }
  [[nodiscard]] bool mail_kept(std::int64_t id) const {
    for (const auto& row : outbox_.rows) {
      if (row.id == id) {
        return true;
      }
    }
    return false;
  }

  testing::FakeClock clock_;
  testing::FakeRandomSource random_;
  testing::FakeSessionStore sessions_;
  testing::FakeRememberTokenStore remember_tokens_;
  testing::FakeLoginThrottleStore throttle_store_;
  LoginThrottle throttle_{throttle_store_, random_, clock_, ThrottleSettings{}};
  testing::FakeAccountTokenStore account_tokens_;
  testing::FakeMailOutbox outbox_;
  Housekeeping housekeeping_{sessions_,       remember_tokens_, throttle_,
                             account_tokens_, outbox_,          clock_};
};

TEST_F(HousekeepingTest, ExpiredSessionsGoLiveOnesStay) {
  add_session("expired-now", now());
  add_session("expired-long-ago", now() - 30 * 86400);
  add_session("live", now() + 1);
  EXPECT_EQ(housekeeping_.run().sessions, 2U);
  ASSERT_EQ(sessions_.rows.size(), 1U);
  EXPECT_EQ(sessions_.rows.begin()->first, "live");
}

TEST_F(HousekeepingTest, ExpiredRememberTokensGoUsedOrNot) {
  add_remember_token("expired-unused", now(), 0);
  add_remember_token("expired-used", now() - 1, now() - 86400);
  add_remember_token("live-unused", now() + 86400, 0);
  EXPECT_EQ(housekeeping_.run().remember_tokens, 2U);
  EXPECT_EQ(remember_tokens_.rows.size(), 1U);
  EXPECT_TRUE(remember_tokens_.rows.contains("live-unused"));
}

TEST_F(HousekeepingTest, AUsedTokenStaysWhileItCouldStillBeReplayed) {
  // Its return after the grace minute is the theft signal, as long as it has not expired.
  add_remember_token("used-long-ago", now() + 86400, now() - 20 * 86400);
  add_remember_token("used-just-now", now() + 86400, now());
  EXPECT_EQ(housekeeping_.run().remember_tokens, 0U);
  EXPECT_EQ(remember_tokens_.rows.size(), 2U);
}

TEST_F(HousekeepingTest, ThrottleFailuresPastTheirWindowGoCountingOnesStay) {
  add_throttle_failure("10.0.0.1", now());
  add_throttle_failure("10.0.0.2", now() + kHour);
  EXPECT_EQ(housekeeping_.run().throttle_rows, 1U);
  ASSERT_EQ(throttle_store_.rows.size(), 1U);
  EXPECT_EQ(throttle_store_.rows[0].key.address, "10.0.0.2");
}

TEST_F(HousekeepingTest, ExpiredMailLinksGoLiveOnesStay) {
  add_account_token("expired", now());
  add_account_token("live", now() + kHour);
  EXPECT_EQ(housekeeping_.run().account_tokens, 1U);
  EXPECT_EQ(account_tokens_.tokens.size(), 1U);
  EXPECT_TRUE(account_tokens_.tokens.contains("live"));
}

TEST_F(HousekeepingTest, SentAndGivenUpMailGoesAfterItsRetentionPendingMailNever) {
  const std::int64_t retention = Housekeeping::kMailRetentionSeconds;
  const std::int64_t old_sent = add_mail(retention + 1, MailState::Sent);
  const std::int64_t old_given_up = add_mail(retention + 1, MailState::GivenUp);
  const std::int64_t old_pending = add_mail(30 * 86400, MailState::Pending);
  // The mail throttles count the last hour's mails: those rows stay.
  const std::int64_t recent_sent = add_mail(kHour, MailState::Sent);
  const std::int64_t recent_given_up = add_mail(kHour, MailState::GivenUp);
  EXPECT_EQ(housekeeping_.run().mails, 2U);
  EXPECT_FALSE(mail_kept(old_sent));
  EXPECT_FALSE(mail_kept(old_given_up));
  EXPECT_TRUE(mail_kept(old_pending)) << "a mail still to deliver is never deleted";
  EXPECT_TRUE(mail_kept(recent_sent));
  EXPECT_TRUE(mail_kept(recent_given_up));
}

TEST_F(HousekeepingTest, ABacklogOfManyBatchesIsDeletedInFull) {
  const std::size_t backlog = 2 * Housekeeping::kBatchRows + 5;
  for (std::size_t i = 0; i < backlog; ++i) {
    add_session("expired-" + std::to_string(i), now() - 1);
    add_remember_token("expired-" + std::to_string(i), now() - 1, 0);
    add_account_token("expired-" + std::to_string(i), now() - 1);
  }
  add_session("live", now() + kHour);
  const HousekeepingResult deleted = housekeeping_.run();
  EXPECT_EQ(deleted.sessions, backlog);
  EXPECT_EQ(deleted.remember_tokens, backlog);
  EXPECT_EQ(deleted.account_tokens, backlog);
  EXPECT_EQ(sessions_.rows.size(), 1U);
  EXPECT_TRUE(remember_tokens_.rows.empty());
  EXPECT_TRUE(account_tokens_.tokens.empty());
}

TEST_F(HousekeepingTest, ABoundedRunDeletesAtMostItsBatchesAndTheNextGoesOn) {
  const std::size_t backlog = Housekeeping::kBatchRows + 5;
  for (std::size_t i = 0; i < backlog; ++i) {
    add_session("expired-" + std::to_string(i), now() - 1);
  }
  EXPECT_EQ(housekeeping_.run(1).sessions, Housekeeping::kBatchRows);
  EXPECT_EQ(sessions_.rows.size(), 5U);
  EXPECT_EQ(housekeeping_.run(1).sessions, 5U);
  EXPECT_TRUE(sessions_.rows.empty());
}

TEST_F(HousekeepingTest, NothingToDeleteDeletesNothing) {
  add_session("live", now() + kHour);
  add_mail(30 * 86400, MailState::Pending);
  EXPECT_EQ(housekeeping_.run(), HousekeepingResult{});
  EXPECT_EQ(sessions_.rows.size(), 1U);
  EXPECT_EQ(outbox_.rows.size(), 1U);
}

TEST_F(HousekeepingTest, ADatabaseOutageIsReported) {
  remember_tokens_.unavailable = true;
  EXPECT_THROW(static_cast<void>(housekeeping_.run()), StorageUnavailable);
}

}  // namespace
}  // namespace authfcgi::domain
