#include "domain/housekeeping.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "db/db_test_support.h"
#include "domain/login_throttle.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_random_source.h"
#include "storage/cppconn.h"
#include "storage/mysql_account_token_store.h"
#include "storage/mysql_login_throttle_store.h"
#include "storage/mysql_mail_outbox.h"
#include "storage/mysql_remember_token_store.h"
#include "storage/mysql_session_store.h"
#include "storage/mysql_user_repository.h"

namespace authfcgi::storage {
namespace {

using domain::Housekeeping;

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;
// More than one batch per table, so the prune has to come back for the rest.
constexpr std::size_t kBacklog = Housekeeping::kBatchRows + 234;

// Every table housekeeping looks after, on the real database: a backlog of rows past their
// retention next to the rows still needed. After `authctl db prune` (Housekeeping::run) only
// the live rows are left, whatever the backlog was.
class HousekeepingDbTest : public testing::DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    ann_ = users_.add("ann@example.com", "ann", "hash-a");
  }

  std::int64_t now() const { return clock_.now(); }

  std::int64_t count(const std::string& table) {
    std::int64_t rows = -1;
    connection_.with_statement(
        "SELECT COUNT(*) FROM " + table, [&](sql::PreparedStatement& statement) {
          const std::unique_ptr<sql::ResultSet> result(statement.executeQuery());
          rows = result->next() ? result->getInt64(1) : -1;
        });
    return rows;
  }

  // `rows` rows in one statement: `row(i)` is the VALUES tuple of the i-th.
  template <typename Row>
  void insert_many(const std::string& insert, std::size_t rows, Row row) {
    std::string sql_text = insert + " VALUES ";
    for (std::size_t i = 0; i < rows; ++i) {
      sql_text += (i > 0 ? ", " : "") + row(i);
    }
    connection_.execute(sql_text);
  }
  // A distinct 64-character key per prefix and i.
  static std::string key64(const std::string& prefix, std::size_t i) {
    std::string text = prefix + "-" + std::to_string(i) + "-";
    text.resize(64, 'x');
    return text;
  }

  // The expired backlog of the four tables with expiry columns, plus old sent and given-up
  // mail; `ago`: how long ago the rows expired (or the mails were queued past retention).
  void fill_backlog(std::int64_t ago) {
    const std::string user = std::to_string(ann_);
    const std::string expired = std::to_string(now() - ago);
    insert_many("INSERT INTO sessions (sid_hash, user_id, expires_at)", kBacklog,
                [&](std::size_t i) {
                  return "('" + key64("e" + std::to_string(ago) + "s", i) + "', " + user + ", " +
                         expired + ")";
                });
    // Used and unused alike: an expired token logs nobody in, used or not.
    insert_many(
        "INSERT INTO remember_tokens (selector, validator_hash, user_id, expires_at, used_at, "
        "issued_at)",
        kBacklog, [&](std::size_t i) {
          return "('e" + std::to_string(ago) + "r" + std::to_string(i) + "', '" + key64("v", i) +
                 "', " + user + ", " + expired + ", " +
                 (i % 2 == 0 ? "0" : std::to_string(now() - ago - kDay)) + ", " +
                 std::to_string(now() - ago - 30 * kDay) + ")";
        });
    insert_many("INSERT INTO account_tokens (token_digest, user_id, purpose, expires_at)", kBacklog,
                [&](std::size_t i) {
                  return "('" + key64("e" + std::to_string(ago) + "a", i) + "', " + user + ", 1, " +
                         expired + ")";
                });
    const std::string queued = std::to_string(now() - Housekeeping::kMailRetentionSeconds - ago);
    insert_many(
        "INSERT INTO mail_outbox (recipient, kind, subject, text_body, html_body, created_at, "
        "next_attempt_at, attempts, sent_at)",
        kBacklog, [&](std::size_t i) {
          // Sent, or given up on after a permanent refusal.
          return i % 2 == 0 ? "('ann@example.com', 1, 's', '', '', " + queued + ", " + queued +
                                  ", 1, " + queued + ")"
                            : "('gone@example.com', 1, 's', '', '', " + queued + ", " +
                                  std::to_string(domain::MailOutbox::kNeverAgain) + ", 1, NULL)";
        });
  }

  // One failed login of ann from the address, counted on the pair, the account and the
  // address; now.
  void fail_login(const std::string& address) {
    domain::Admission admission = throttle_.admit({"ann@example.com", address, std::nullopt});
    ASSERT_TRUE(admission.attempt);
    admission.attempt->failed();
  }

  testing::FakeClock clock_;
  testing::FakeRandomSource random_;
  MysqlUserRepository users_{connection_};
  MysqlSessionStore sessions_{connection_};
  MysqlRememberTokenStore remember_tokens_{connection_};
  MysqlLoginThrottleStore throttle_store_{connection_};
  domain::LoginThrottle throttle_{throttle_store_, random_, clock_, domain::ThrottleSettings{}};
  MysqlAccountTokenStore account_tokens_{connection_};
  MysqlMailOutbox outbox_{connection_};
  Housekeeping housekeeping_{sessions_,       remember_tokens_, throttle_,
                             account_tokens_, outbox_,          clock_};
  domain::UserId ann_ = 0;
};

TEST_F(HousekeepingDbTest, APruneLeavesOnlyTheLiveRowsOfEveryTable) {
  // The throttle's rows: failures an hour old (the pair's and account's windows are over, the
  // address's day is not), and one of now.
  fail_login("203.0.113.1");
  clock_.advance(kHour);
  fail_login("203.0.113.2");
  fill_backlog(1);

  // What is still needed.
  const std::string live_session(64, 'l');
  sessions_.create(live_session, ann_, now() + 1);
  remember_tokens_.insert({"live-unused", std::string(64, 'v'), ann_, now() + kDay, 0, now()});
  // Used a week ago and not yet expired: its return is the theft signal.
  remember_tokens_.insert(
      {"live-used", std::string(64, 'w'), ann_, now() + kDay, now() - 7 * kDay, now() - 8 * kDay});
  account_tokens_.add(std::string(64, 'k'),
                      domain::AccountToken{ann_, domain::TokenPurpose::ResetPassword, "",
                                           now() + kHour, std::string(64, 'p')});
  // Mail still to deliver stays however old; a sent one stays while the throttles count it.
  outbox_.enqueue({"ann@example.com", "s", "t", "h"}, domain::MailKind::ConfirmAccount, "",
                  now() - 30 * kDay);
  outbox_.enqueue({"bob@example.com", "s", "t", "h"}, domain::MailKind::ResetPassword, "",
                  now() - kHour);
  // The oldest is due first: a delivery takes it and is still trying.
  ASSERT_TRUE(outbox_.claim_due(now(), 300));
  const auto recent = outbox_.claim_due(now(), 300);
  ASSERT_TRUE(recent);
  outbox_.mark_sent(recent->id, now());

  ASSERT_EQ(count("sessions"), static_cast<std::int64_t>(kBacklog) + 1);
  const std::int64_t throttle_rows_before = count("login_failures");
  ASSERT_EQ(throttle_rows_before, 6);

  const domain::HousekeepingResult deleted = housekeeping_.run();

  EXPECT_EQ(deleted.sessions, kBacklog);
  EXPECT_EQ(deleted.remember_tokens, kBacklog);
  EXPECT_EQ(deleted.account_tokens, kBacklog);
  EXPECT_EQ(deleted.mails, kBacklog);
  EXPECT_GE(deleted.throttle_rows, 2U) << "the first failure's pair and account rows";
  EXPECT_EQ(count("sessions"), 1);
  EXPECT_TRUE(sessions_.find_user(live_session, now())) << "the live session still logs in";
  EXPECT_EQ(count("remember_tokens"), 2);
  EXPECT_TRUE(remember_tokens_.find("live-unused"));
  EXPECT_TRUE(remember_tokens_.find("live-used"));
  EXPECT_EQ(count("account_tokens"), 1);
  EXPECT_EQ(count("mail_outbox"), 2) << "the mail still to deliver and the one sent an hour ago";
  EXPECT_EQ(count("login_failures"), 4) << "the first address's day and the second failure";

  EXPECT_EQ(housekeeping_.run(), domain::HousekeepingResult{}) << "nothing left to delete";
}

TEST_F(HousekeepingDbTest, TheTablesStayBoundedRunAfterRun) {
  // Each hour a new backlog expires, and a session of half an hour is started; each hourly
  // prune takes away what expired, so the tables hold what is live and no more, however long
  // the instance runs.
  for (int hour = 1; hour <= 3; ++hour) {
    clock_.advance(kHour);
    sessions_.create(std::string(63, 'l') + std::to_string(hour), ann_, now() + kHour / 2);
    fill_backlog(hour);
    const domain::HousekeepingResult deleted = housekeeping_.run();
    EXPECT_EQ(deleted.sessions, kBacklog + (hour > 1 ? 1 : 0)) << "and last hour's session";
    EXPECT_EQ(deleted.mails, kBacklog) << "hour " << hour;
    EXPECT_EQ(count("sessions"), 1) << "hour " << hour;
    EXPECT_EQ(count("remember_tokens"), 0) << "hour " << hour;
    EXPECT_EQ(count("account_tokens"), 0) << "hour " << hour;
    EXPECT_EQ(count("mail_outbox"), 0) << "hour " << hour;
  }
}

TEST_F(HousekeepingDbTest, ABoundedRunDeletesOneBatchPerTableAndTheNextTheRest) {
  fill_backlog(1);
  const domain::HousekeepingResult first = housekeeping_.run(1);
  EXPECT_EQ(first.sessions, Housekeeping::kBatchRows);
  EXPECT_EQ(first.remember_tokens, Housekeeping::kBatchRows);
  EXPECT_EQ(first.account_tokens, Housekeeping::kBatchRows);
  EXPECT_EQ(first.mails, Housekeeping::kBatchRows);
  EXPECT_EQ(count("sessions"), static_cast<std::int64_t>(kBacklog - Housekeeping::kBatchRows));
  const domain::HousekeepingResult second = housekeeping_.run(1);
  EXPECT_EQ(second.sessions, kBacklog - Housekeeping::kBatchRows);
  EXPECT_EQ(count("sessions"), 0);
  EXPECT_EQ(count("remember_tokens"), 0);
  EXPECT_EQ(count("account_tokens"), 0);
  EXPECT_EQ(count("mail_outbox"), 0);
}

}  // namespace
}  // namespace authfcgi::storage
