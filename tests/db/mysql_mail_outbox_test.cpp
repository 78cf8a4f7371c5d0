#include "storage/mysql_mail_outbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "db/db_test_support.h"
#include "storage/cppconn.h"
#include "storage/mysql_user_repository.h"

namespace authfcgi::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

domain::MailMessage mail_to(const std::string& to) {
  return {to, "[Flasky] Confirm Your Account", "Dear ann,\nline two", "<p>Dear ann,</p>"};
}

class MysqlMailOutboxTest : public testing::DbTest {
 protected:
  MysqlMailOutbox outbox_{connection_};
};

TEST_F(MysqlMailOutboxTest, AQueuedMailComesBackWholeOnceAndIsNotDueAgainAfterItIsSent) {
  outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ConfirmAccount, "198.51.100.0",
                  kNow);
  const auto mail = outbox_.claim_due(kNow, 300);
  ASSERT_TRUE(mail.has_value());
  EXPECT_EQ(mail->message, mail_to("ann@example.com"));
  EXPECT_EQ(mail->attempts, 0U);
  EXPECT_FALSE(outbox_.claim_due(kNow + 299, 300).has_value()) << "held for the lease";
  outbox_.mark_sent(mail->id, kNow + 1);
  EXPECT_FALSE(outbox_.claim_due(kNow + 10'000, 300).has_value());
}

TEST_F(MysqlMailOutboxTest, ASentOrAbandonedMailKeepsNoCopyOfItsLinks) {
  outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ResetPassword, "", kNow);
  outbox_.enqueue(mail_to("gone@example.com"), domain::MailKind::ResetPassword, "", kNow);
  const auto sent = outbox_.claim_due(kNow, 300);
  outbox_.mark_sent(sent->id, kNow);
  const auto abandoned = outbox_.claim_due(kNow, 300);
  outbox_.retry_later(abandoned->id, domain::MailOutbox::kNeverAgain, "550 no such user");
  std::int64_t bodies = -1;
  connection_.with_statement(
      "SELECT COUNT(*) FROM mail_outbox WHERE text_body <> '' OR html_body <> ''",
      [&](sql::PreparedStatement& statement) {
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        bodies = rows->next() ? rows->getInt64(1) : -1;
      });
  EXPECT_EQ(bodies, 0);
}

TEST_F(MysqlMailOutboxTest, TwoProcessesNeverClaimTheSameMail) {
  MysqlConnection other_connection(testing::test_database_config());
  MysqlMailOutbox other(other_connection);
  for (int i = 0; i < 10; ++i) {
    outbox_.enqueue(mail_to("u" + std::to_string(i) + "@example.com"),
                    domain::MailKind::ConfirmAccount, "", kNow);
  }
  std::set<std::int64_t> claimed;
  for (int i = 0; i < 5; ++i) {
    for (MysqlMailOutbox* outbox : {&outbox_, &other}) {
      const auto mail = outbox->claim_due(kNow, 300);
      ASSERT_TRUE(mail.has_value());
      EXPECT_TRUE(claimed.insert(mail->id).second) << "mail " << mail->id << " claimed twice";
    }
  }
  EXPECT_FALSE(outbox_.claim_due(kNow, 300).has_value());
}

TEST_F(MysqlMailOutboxTest, AFailedTryCountsAndWaitsItsTurn) {
  outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ResetPassword, "", kNow);
  auto mail = outbox_.claim_due(kNow, 300);
  outbox_.retry_later(mail->id, kNow + 60, "connection refused");
  EXPECT_FALSE(outbox_.claim_due(kNow + 59, 300).has_value());
  mail = outbox_.claim_due(kNow + 60, 300);
  ASSERT_TRUE(mail.has_value());
  EXPECT_EQ(mail->attempts, 1U);
}

TEST_F(MysqlMailOutboxTest, CountsAreByRecipientOrNetworkKindAndTime) {
  outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ResetPassword, "net-a", kNow);
  outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ResetPassword, "net-b", kNow + 10);
  outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ConfirmAccount, "net-a", kNow);
  outbox_.enqueue(mail_to("Ann@example.com"), domain::MailKind::ResetPassword, "net-a", kNow);
  EXPECT_EQ(outbox_.count_for_recipient("ann@example.com", domain::MailKind::ResetPassword, kNow),
            2);
  EXPECT_EQ(
      outbox_.count_for_recipient("ann@example.com", domain::MailKind::ResetPassword, kNow + 5), 1);
  EXPECT_EQ(outbox_.count_from_network("net-a", domain::MailKind::ResetPassword, kNow), 2);
  // Binary: another spelling is another address.
  EXPECT_EQ(
      outbox_.count_for_recipient("ann@ex\xc3\xa4mple.com", domain::MailKind::ResetPassword, kNow),
      0);
}

TEST_F(MysqlMailOutboxTest, PruneDeletesOnlyOldMailThatIsDoneWith) {
  outbox_.enqueue(mail_to("sent@example.com"), domain::MailKind::ConfirmAccount, "", kNow);
  outbox_.enqueue(mail_to("waiting@example.com"), domain::MailKind::ConfirmAccount, "", kNow);
  outbox_.enqueue(mail_to("new@example.com"), domain::MailKind::ConfirmAccount, "", kNow + 500);
  const auto sent = outbox_.claim_due(kNow, 300);
  outbox_.mark_sent(sent->id, kNow);
  EXPECT_EQ(outbox_.prune(kNow + 100, 1000), 1U) << "the sent one; never a mail still to deliver";
  const auto waiting = outbox_.claim_due(kNow + 1000, 300);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->message.to, "waiting@example.com");
}

TEST_F(MysqlMailOutboxTest, ATransactionThatFailsLeavesNeitherTheChangeNorItsMail) {
  MysqlUserRepository users(connection_);
  MysqlTransactions transactions(connection_);
  EXPECT_THROW(transactions.run([&] {
    users.add_unconfirmed("ann@example.com", "ann", "h");
    outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ConfirmAccount, "", kNow);
    throw std::runtime_error("the next step failed");
  }),
               std::runtime_error);
  EXPECT_FALSE(users.find_by_email("ann@example.com").has_value());
  EXPECT_FALSE(outbox_.claim_due(kNow, 300).has_value());
  transactions.run([&] {
    users.add_unconfirmed("ann@example.com", "ann", "h");
    outbox_.enqueue(mail_to("ann@example.com"), domain::MailKind::ConfirmAccount, "", kNow);
  });
  EXPECT_TRUE(users.find_by_email("ann@example.com").has_value());
  EXPECT_TRUE(outbox_.claim_due(kNow, 300).has_value());
}

}  // namespace
}  // namespace authfcgi::storage
