#include "domain/self_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "crypto/key_ring.h"
#include "crypto/sodium_token_crypto.h"
#include "crypto/zxcvbn_password_strength.h"
#include "fakes/fake_accounts.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_login_throttle_store.h"
#include "fakes/fake_mail.h"
#include "fakes/fake_random_source.h"
#include "fakes/fake_stores.h"

namespace authfcgi::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr std::string_view kSecret = "test-secret-of-at-least-32-bytes-0123456789";
constexpr std::string_view kAddress = "198.51.100.7";
const RegistrationForm kPaul{"Paul@Example.com", "paul", "Tulip-harbor-2026", "Tulip-harbor-2026"};

class SelfServiceTest : public ::testing::Test {
 protected:
  // The token of the last mail's link (its last path segment).
  std::string last_token() const {
    const std::string& text = outbox_.rows.back().message.text;
    return text.substr(text.rfind('/') + 1);
  }
  CurrentUser current(UserId id) {
    const User& user = users_.users.at(id);
    return {user.id, user.email, user.username, {}, user.confirmed};
  }

  testing::FakeUserRepository users_;
  testing::FakeAccountTokenStore tokens_;
  testing::FakeMailOutbox outbox_;
  testing::FakeTransactions transactions_;
  testing::FakeMailComposer composer_;
  testing::FakePasswordHasher hasher_;
  crypto::ZxcvbnPasswordStrength strength_;
  testing::FakeRandomSource random_;
  crypto::KeyRing keys_{kSecret, {}};
  crypto::SodiumTokenCrypto crypto_{keys_, random_};
  testing::FakeClock clock_;
  testing::FakeLoginThrottleStore throttle_store_;
  LoginThrottle throttle_{throttle_store_, random_, clock_, ThrottleSettings{}};
  testing::FakeSessionStore sessions_;
  testing::FakeRememberTokenStore remember_;
  Accounts accounts_{users_, sessions_, remember_, hasher_};
  SelfService service_{SelfServiceDependencies{users_, tokens_, outbox_, transactions_, composer_,
                                               hasher_, strength_, crypto_, clock_, throttle_,
                                               accounts_, SelfServiceSettings{}}};
};

TEST_F(SelfServiceTest, ARegistrationMakesAnUnconfirmedAccountAndQueuesItsConfirmation) {
  const auto outcome = service_.register_account(kPaul, kAddress);
  EXPECT_THAT(outcome.errors, IsEmpty());
  const auto paul = users_.find_by_email("paul@example.com");
  ASSERT_TRUE(paul.has_value());
  EXPECT_FALSE(paul->confirmed);
  EXPECT_EQ(paul->password_hash, "hash:Tulip-harbor-2026");
  ASSERT_EQ(outbox_.rows.size(), 1U);
  EXPECT_EQ(outbox_.rows[0].kind, MailKind::ConfirmAccount);
  EXPECT_EQ(outbox_.rows[0].message.to, "paul@example.com");
  EXPECT_THAT(outbox_.rows[0].message.text, HasSubstr("/auth/confirm/"));
  EXPECT_EQ(transactions_.runs, 1) << "the account, its token and its mail together";
  // Only a digest of the token is kept.
  ASSERT_EQ(tokens_.tokens.size(), 1U);
  EXPECT_EQ(tokens_.tokens.count(last_token()), 0U);
  EXPECT_EQ(tokens_.tokens.begin()->second.expires_at, clock_.now() + 24 * 3600);
}

TEST_F(SelfServiceTest, AnAddressThatHasAnAccountGetsTheSameAnswerAndItsOwnerAMail) {
  ASSERT_THAT(service_.register_account(kPaul, kAddress).errors, IsEmpty());
  const int hashes = hasher_.hashes;
  const auto again = service_.register_account(
      {"paul@example.com", "someone", "Other-secret-4242", "Other-secret-4242"}, kAddress);
  EXPECT_THAT(again.errors, IsEmpty()) << "no word about the address being taken";
  EXPECT_EQ(again.retry_after_seconds, 0);
  EXPECT_EQ(hasher_.hashes, hashes + 1) << "the same work as a new account";
  EXPECT_EQ(users_.users.size(), 1U);
  EXPECT_EQ(users_.users.begin()->second.password_hash, "hash:Tulip-harbor-2026") << "unchanged";
  ASSERT_EQ(outbox_.rows.size(), 2U);
  EXPECT_EQ(outbox_.rows[1].kind, MailKind::RegistrationAttempt);
  EXPECT_EQ(outbox_.rows[1].message.to, "paul@example.com");
  EXPECT_FALSE(users_.username_taken("someone"));
}

TEST_F(SelfServiceTest, ATakenUsernameIsSaidWhateverTheAddress) {
  ASSERT_THAT(service_.register_account(kPaul, kAddress).errors, IsEmpty());
  for (const char* email : {"paul@example.com", "new@example.com"}) {
    const auto outcome = service_.register_account(
        {email, "paul", "Other-secret-4242", "Other-secret-4242"}, kAddress);
    EXPECT_THAT(outcome.errors,
                ElementsAre(Pair("username", ElementsAre("Username already in use."))))
        << email;
  }
}

TEST_F(SelfServiceTest, TheFormsRulesWithWtformsMessages) {
  const auto outcome = service_.register_account(
      {"paul@ex\xc3\xa4mple.com", "2paul", "Tulip-harbor-2026", "Tulip-harbor-2027"}, kAddress);
  EXPECT_THAT(outcome.errors,
              ElementsAre(Pair("email", ElementsAre("Invalid email address.")),
                          Pair("password", ElementsAre("Passwords must match.")),
                          Pair("username", ElementsAre("Usernames must have only letters, "
                                                       "numbers, dots or underscores"))));
  EXPECT_THAT(
      service_.register_account({"a@example.com", "ann", "password1", "password1"}, kAddress)
          .errors.at("password"),
      ElementsAre(HasSubstr("too easy to guess")));
  EXPECT_TRUE(outbox_.rows.empty());
  EXPECT_EQ(hasher_.hashes, 0);
}

TEST_F(SelfServiceTest, RegistrationsCountAgainstTheAddressLikeFailedLogins) {
  int refused = 0;
  for (int i = 0; i < 8; ++i) {
    const auto outcome = service_.register_account(
        {"paul@example.com", "p" + std::to_string(i), "Tulip-harbor-2026", "Tulip-harbor-2026"},
        kAddress);
    refused += outcome.retry_after_seconds > 0 ? 1 : 0;
  }
  EXPECT_EQ(refused, 3) << "5 tries from one address on one email, as for logins";
}

TEST_F(SelfServiceTest, TheLinkConfirmsItsOwnAccountOnceAndBeforeItExpires) {
  ASSERT_THAT(service_.register_account(kPaul, kAddress).errors, IsEmpty());
  const std::string token = last_token();
  const UserId paul = users_.find_by_email("paul@example.com")->id;
  const UserId other = users_.add_unconfirmed("other@example.com", "other", "h");
  EXPECT_EQ(service_.confirm(current(other), token), ConfirmOutcome::Invalid) << "another's link";
  EXPECT_EQ(service_.confirm(current(paul), token + "x"), ConfirmOutcome::Invalid);
  EXPECT_EQ(service_.confirm(current(paul), token), ConfirmOutcome::Confirmed);
  EXPECT_TRUE(users_.users.at(paul).confirmed);
  EXPECT_EQ(service_.confirm(current(paul), token), ConfirmOutcome::AlreadyConfirmed);
  EXPECT_TRUE(tokens_.tokens.empty()) << "used once";
}

TEST_F(SelfServiceTest, AnExpiredLinkIsInvalid) {
  ASSERT_THAT(service_.register_account(kPaul, kAddress).errors, IsEmpty());
  const std::string token = last_token();
  clock_.advance(24 * 3600);
  EXPECT_EQ(service_.confirm(current(users_.find_by_email("paul@example.com")->id), token),
            ConfirmOutcome::Invalid);
}

TEST_F(SelfServiceTest, AnotherConfirmationMailAtMostOnceAMinute) {
  ASSERT_THAT(service_.register_account(kPaul, kAddress).errors, IsEmpty());
  const CurrentUser paul = current(users_.find_by_email("paul@example.com")->id);
  EXPECT_EQ(service_.resend_confirmation(paul, kAddress), ResendOutcome::TooSoon);
  clock_.advance(60);
  EXPECT_EQ(service_.resend_confirmation(paul, kAddress), ResendOutcome::Sent);
  EXPECT_EQ(service_.resend_confirmation(paul, kAddress), ResendOutcome::TooSoon);
  EXPECT_EQ(outbox_.rows.size(), 2U);
  // Both links work until one is used.
  EXPECT_EQ(service_.confirm(paul, last_token()), ConfirmOutcome::Confirmed);
  EXPECT_EQ(service_.resend_confirmation(current(paul.id), kAddress),
            ResendOutcome::AlreadyConfirmed);
}

class ResetTest : public SelfServiceTest {
 protected:
  ResetTest() {
    paul_ = users_.add("paul@example.com", "paul", "hash:Tulip-harbor-2026");
    sessions_.create("sid-a", paul_, clock_.now() + 3600);
    sessions_.create("sid-b", paul_, clock_.now() + 3600);
  }
  // A reset request as the form makes it and the delivery expands it: the token of the reset
  // mail it led to, or "" when none.
  std::string request(std::string_view email = "Paul@Example.com") {
    service_.request_reset(email, kAddress);
    const auto& queued = outbox_.rows.back();
    EXPECT_EQ(queued.kind, MailKind::ResetRequest) << "queued whatever the address";
    const auto before = outbox_.rows.size();
    service_.expand_reset_request(
        {queued.id, queued.message, 0, queued.kind, queued.client_network});
    return outbox_.rows.size() > before ? last_token() : std::string();
  }
  std::size_t reset_mails() const {
    return static_cast<std::size_t>(
        std::count_if(outbox_.rows.begin(), outbox_.rows.end(),
                      [](const auto& row) { return row.kind == MailKind::ResetPassword; }));
  }
  UserId paul_ = 0;
  const NewPasswordForm new_password_{"Walnut-cabin-7788", "Walnut-cabin-7788"};
};

TEST_F(ResetTest, AnyAddressCostsTheSameQueuedRowAndOnlyAnAccountGetsAMail) {
  EXPECT_TRUE(request("nobody@example.com").empty());
  EXPECT_FALSE(request("paul@example.com").empty());
  // Two requests, two rows of the same kind queued in the request; one mail after delivery.
  EXPECT_EQ(std::count_if(outbox_.rows.begin(), outbox_.rows.end(),
                          [](const auto& row) { return row.kind == MailKind::ResetRequest; }),
            2);
  EXPECT_EQ(reset_mails(), 1U);
  EXPECT_EQ(tokens_.tokens.size(), 1U);
  const auto rows = outbox_.rows.size();
  service_.request_reset("not an address", kAddress);
  EXPECT_EQ(outbox_.rows.size(), rows) << "refused by the form already";
}

TEST_F(ResetTest, TheLinkSetsTheNewPasswordOnceAndEndsEveryLogin) {
  const std::string token = request();
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(outbox_.rows.back().kind, MailKind::ResetPassword);
  EXPECT_TRUE(service_.reset_token_valid(token));
  const auto done = service_.reset_password(token, new_password_);
  EXPECT_TRUE(done.token_valid && done.done);
  EXPECT_EQ(users_.users.at(paul_).password_hash, "hash:Walnut-cabin-7788");
  EXPECT_TRUE(sessions_.rows.empty()) << "every session of the user ended";
  const auto again = service_.reset_password(token, {"Other-cabin-7788", "Other-cabin-7788"});
  EXPECT_FALSE(again.token_valid) << "used once";
  EXPECT_EQ(users_.users.at(paul_).password_hash, "hash:Walnut-cabin-7788");
}

TEST_F(ResetTest, TheLinkDiesAfterAnHourOrWhenThePasswordChangesAnotherWay) {
  const std::string first = request();
  clock_.advance(3600);
  EXPECT_FALSE(service_.reset_token_valid(first));
  const std::string second = request();
  // authctl user passwd (or a change of password) meanwhile: the link died with the old one.
  ASSERT_TRUE(accounts_.set_password(paul_, "Changed-by-admin-99"));
  EXPECT_FALSE(service_.reset_token_valid(second));
  EXPECT_FALSE(service_.reset_password(second, new_password_).token_valid);
  EXPECT_EQ(users_.users.at(paul_).password_hash, "hash:Changed-by-admin-99");
}

TEST_F(ResetTest, TheNewPasswordFollowsTheRulesAndTheLinkSurvivesAMistake) {
  const std::string token = request();
  EXPECT_THAT(service_.reset_password(token, {"paul-is-back-2026", "paul-is-back-2026"})
                  .errors.at("password"),
              ElementsAre("Password must not contain your username."));
  EXPECT_THAT(service_.reset_password(token, {"Walnut-cabin-7788", "Walnut-cabin-7789"})
                  .errors.at("password"),
              ElementsAre("Passwords must match."));
  EXPECT_TRUE(service_.reset_password(token, new_password_).done);
}

TEST_F(ResetTest, AtMostThreeResetMailsAnHourToOneAccount) {
  for (int i = 0; i < 5; ++i) {
    request();
  }
  EXPECT_EQ(reset_mails(), 3U);
  clock_.advance(3600);
  EXPECT_FALSE(request().empty());
}

TEST_F(ResetTest, AChangeOfPasswordNeedsTheOldOneAndEndsEveryLogin) {
  const CurrentUser paul = current(paul_);
  const auto wrong = service_.change_password(
      paul, {"not-my-password", "Walnut-cabin-7788", "Walnut-cabin-7788"}, kAddress);
  EXPECT_TRUE(wrong.wrong_password);
  EXPECT_EQ(sessions_.rows.size(), 2U) << "nothing changed";
  const auto done = service_.change_password(
      paul, {"Tulip-harbor-2026", "Walnut-cabin-7788", "Walnut-cabin-7788"}, kAddress);
  EXPECT_TRUE(done.done);
  EXPECT_EQ(users_.users.at(paul_).password_hash, "hash:Walnut-cabin-7788");
  EXPECT_TRUE(sessions_.rows.empty()) << "the caller keeps its own browser logged in";
  ASSERT_FALSE(outbox_.rows.empty());
  EXPECT_EQ(outbox_.rows.back().kind, MailKind::PasswordChanged);
  EXPECT_EQ(outbox_.rows.back().message.to, "paul@example.com");
}

TEST_F(ResetTest, AtMostTwentyResetMailsAnHourAskedForFromOneNetwork) {
  for (int i = 0; i < 25; ++i) {
    users_.add("u" + std::to_string(i) + "@example.com", "u" + std::to_string(i), "hash:x");
    request("u" + std::to_string(i) + "@example.com");
  }
  EXPECT_EQ(reset_mails(), 20U);
}

TEST_F(ResetTest, GuessingTheOldPasswordIsThrottledAsALoginIs) {
  const CurrentUser paul = current(paul_);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(
        service_
            .change_password(paul, {"guess", "Walnut-cabin-7788", "Walnut-cabin-7788"}, kAddress)
            .wrong_password);
  }
  const auto refused = service_.change_password(
      paul, {"Tulip-harbor-2026", "Walnut-cabin-7788", "Walnut-cabin-7788"}, kAddress);
  EXPECT_GT(refused.retry_after_seconds, 0);
  EXPECT_FALSE(refused.done);
  EXPECT_GT(service_.request_email_change(paul, {"new@example.com", "Tulip-harbor-2026"}, kAddress)
                .retry_after_seconds,
            0);
  EXPECT_EQ(users_.users.at(paul_).password_hash, "hash:Tulip-harbor-2026");
}

TEST_F(ResetTest, AnAddressGetsAFewChangeMailsAnHourWhoeverAsks) {
  for (int i = 0; i < 5; ++i) {
    const UserId asker = users_.add("asker" + std::to_string(i) + "@example.com",
                                    "asker" + std::to_string(i), "hash:Tulip-harbor-2026");
    EXPECT_TRUE(service_
                    .request_email_change(current(asker),
                                          {"victim@example.com", "Tulip-harbor-2026"},
                                          "203.0.113." + std::to_string(i))
                    .done);
  }
  EXPECT_EQ(outbox_.count_for_recipient("victim@example.com", MailKind::ConfirmNewEmail, 0), 3);
}

TEST_F(ResetTest, ANewAddressIsConfirmedByItsLinkAndTheOldOneIsTold) {
  const CurrentUser paul = current(paul_);
  EXPECT_TRUE(service_.request_email_change(paul, {"paul.new@example.com", "wrong"}, kAddress)
                  .wrong_password);
  ASSERT_TRUE(
      service_.request_email_change(paul, {"Paul.New@Example.com", "Tulip-harbor-2026"}, kAddress)
          .done);
  EXPECT_EQ(outbox_.rows.back().kind, MailKind::ConfirmNewEmail);
  EXPECT_EQ(outbox_.rows.back().message.to, "paul.new@example.com");
  const std::string token = last_token();
  EXPECT_EQ(users_.users.at(paul_).email, "paul@example.com") << "not before the link";
  const UserId other = users_.add("other@example.com", "other", "h");
  EXPECT_EQ(service_.change_email(current(other), token, kAddress), EmailChangeOutcome::Invalid);
  EXPECT_EQ(service_.change_email(paul, token, kAddress), EmailChangeOutcome::Changed);
  EXPECT_EQ(users_.users.at(paul_).email, "paul.new@example.com");
  EXPECT_EQ(outbox_.rows.back().kind, MailKind::EmailChanged);
  EXPECT_EQ(outbox_.rows.back().message.to, "paul@example.com");
  EXPECT_EQ(service_.change_email(paul, token, kAddress), EmailChangeOutcome::Invalid) << "once";
}

TEST_F(ResetTest, ATakenAddressGetsTheSameAnswerAndNoMail) {
  users_.add("taken@example.com", "taken", "h");
  const auto before = outbox_.rows.size();
  const auto outcome = service_.request_email_change(
      current(paul_), {"taken@example.com", "Tulip-harbor-2026"}, kAddress);
  EXPECT_TRUE(outcome.done && outcome.errors.empty() && !outcome.wrong_password);
  EXPECT_EQ(outbox_.rows.size(), before);
}

}  // namespace
}  // namespace authfcgi::domain
