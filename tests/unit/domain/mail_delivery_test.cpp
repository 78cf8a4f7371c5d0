#include "domain/mail_delivery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_mail.h"

namespace authfcgi::domain {
namespace {

using ::testing::HasSubstr;

class MailDeliveryTest : public ::testing::Test {
 protected:
  void queue(const std::string& to) {
    outbox_.enqueue({to, "[Flasky] Confirm Your Account", "text", "<p>html</p>"},
                    MailKind::ConfirmAccount, "198.51.100.0", clock_.now());
  }
  std::size_t deliver() { return delivery_.deliver_due(20); }

  testing::FakeClock clock_;
  testing::FakeMailOutbox outbox_;
  testing::FakeMailSender server_;
  std::vector<std::string> log_;
  MailDelivery delivery_{outbox_, server_, clock_, MailDeliverySettings{},
                         [this](const std::string& line) { log_.push_back(line); }};
};

TEST_F(MailDeliveryTest, EachDueMailIsSentOnceAndMarkedSent) {
  queue("ann@example.com");
  queue("bob@example.com");
  EXPECT_EQ(deliver(), 2U);
  EXPECT_EQ(deliver(), 0U) << "nothing is sent twice";
  ASSERT_EQ(server_.delivered.size(), 2U);
  EXPECT_EQ(server_.delivered[0].to, "ann@example.com");
  EXPECT_TRUE(outbox_.rows[0].sent_at && outbox_.rows[1].sent_at);
}

TEST_F(MailDeliveryTest, AFailedMailIsTriedAgainAfter1MinuteThenDoublingToAnHour) {
  queue("ann@example.com");
  server_.down = true;
  std::vector<std::int64_t> waits;
  for (int round = 0; round < 8; ++round) {
    clock_.set(outbox_.find(1).next_attempt_at);
    deliver();
    waits.push_back(outbox_.find(1).next_attempt_at - clock_.now());
  }
  EXPECT_EQ(waits, (std::vector<std::int64_t>{60, 120, 240, 480, 960, 1920, 3600, 3600}));
  EXPECT_EQ(server_.tries, 8) << "never before its time";
}

TEST_F(MailDeliveryTest, AnOutageLosesNoMailAndEachArrivesOnceAfterIt) {
  for (int i = 0; i < 5; ++i) {
    queue("user" + std::to_string(i) + "@example.com");
  }
  server_.down = true;
  for (int round = 0; round < 20; ++round) {
    deliver();
    clock_.advance(30);
  }
  EXPECT_TRUE(server_.delivered.empty());
  EXPECT_LT(server_.tries, 20) << "a server that is down is asked once per round, not per mail";
  server_.down = false;
  clock_.advance(3600);
  EXPECT_EQ(deliver(), 5U);
  EXPECT_EQ(deliver(), 0U);
  std::vector<std::string> recipients;
  for (const auto& mail : server_.delivered) {
    recipients.push_back(mail.to);
  }
  std::sort(recipients.begin(), recipients.end());
  EXPECT_EQ(recipients,
            (std::vector<std::string>{"user0@example.com", "user1@example.com", "user2@example.com",
                                      "user3@example.com", "user4@example.com"}));
  EXPECT_THAT(log_.front(), HasSubstr("connection refused"));
}

TEST_F(MailDeliveryTest, APermanentRefusalIsGivenUpAndTheOthersStillGo) {
  queue("gone@example.com");
  queue("ann@example.com");
  server_.refuse = "gone@example.com";
  EXPECT_EQ(deliver(), 1U);
  EXPECT_EQ(outbox_.find(1).next_attempt_at, MailOutbox::kNeverAgain);
  EXPECT_EQ(outbox_.find(1).last_error, "550 no such mailbox");
  clock_.advance(1'000'000);
  EXPECT_EQ(deliver(), 0U) << "never tried again";
  EXPECT_THAT(log_.front(), HasSubstr("given up"));
}

TEST_F(MailDeliveryTest, AMailThatNeverGoesThroughIsGivenUpAfterItsLastTry) {
  MailDelivery short_lived{outbox_, server_, clock_, MailDeliverySettings{60, 60, 3, 300},
                           [](const std::string&) {}};
  queue("ann@example.com");
  server_.down = true;
  for (int i = 0; i < 5; ++i) {
    short_lived.deliver_due(20);
    clock_.advance(61);
  }
  EXPECT_EQ(server_.tries, 3);
  EXPECT_EQ(outbox_.find(1).next_attempt_at, MailOutbox::kNeverAgain);
}

TEST_F(MailDeliveryTest, ARequestIsExpandedOnceAndNeverSentItself) {
  std::vector<std::string> expanded;
  MailDelivery with_expansion{outbox_,
                              server_,
                              clock_,
                              MailDeliverySettings{},
                              [](const std::string&) {},
                              [&](const QueuedMail& request) {
                                expanded.push_back(request.message.to);
                                queue("paul@example.com");  // the mail it asks for
                              }};
  outbox_.enqueue({"paul@example.com", {}, {}, {}}, MailKind::ResetRequest, "198.51.100.0",
                  clock_.now());
  with_expansion.deliver_due(20);
  with_expansion.deliver_due(20);
  EXPECT_EQ(expanded, std::vector<std::string>{"paul@example.com"});
  ASSERT_EQ(server_.delivered.size(), 1U) << "the mail it led to, not the request";
  EXPECT_EQ(server_.delivered[0].subject, "[Flasky] Confirm Your Account");
}

}  // namespace
}  // namespace authfcgi::domain
