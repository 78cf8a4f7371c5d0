#include "cli/authctl_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "crypto/zxcvbn_password_strength.h"
#include "domain/errors.h"
#include "fakes/fake_accounts.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_login_throttle_store.h"
#include "fakes/fake_mail.h"
#include "fakes/fake_random_source.h"
#include "fakes/fake_stores.h"
#include "mocks/mocks.h"

namespace authfcgi::cli {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::IsEmpty;
using testing::MockPasswordHasher;
using testing::MockRememberTokenStore;
using testing::MockSessionStore;
using testing::MockUserRepository;
using ::testing::Return;
using ::testing::StrictMock;
using ::testing::Throw;

const domain::User kAnn{7, "ann@example.com", "ann", "$argon2id$old", {}};

class AuthctlTest : public ::testing::Test {
 protected:
  int run(std::vector<std::string> args) { return run_authctl(args, context_); }

  // The password the (fake) prompt returns, and what it was asked for.
  PasswordInput password_{std::string("correct horse"), ""};
  std::vector<ConfirmPassword> prompts_;
  std::vector<int> applied_migrations_;
  int migrate_calls_ = 0;

  std::ostringstream out_;
  std::ostringstream err_;
  StrictMock<MockUserRepository> users_;
  StrictMock<MockSessionStore> sessions_;
  StrictMock<MockRememberTokenStore> tokens_;
  StrictMock<MockPasswordHasher> hasher_;
  domain::Accounts accounts_{users_, sessions_, tokens_, hasher_};
  testing::FakeLoginThrottleStore throttle_store_;
  testing::FakeRandomSource random_;
  testing::FakeClock clock_;
  domain::LoginThrottle throttle_{throttle_store_, random_, clock_, domain::ThrottleSettings{}};
  // Housekeeping's tables, as rows (the revocation tests above script the same seams as mocks).
  testing::FakeSessionStore session_rows_;
  testing::FakeRememberTokenStore remember_rows_;
  testing::FakeAccountTokenStore account_tokens_;
  testing::FakeMailOutbox outbox_;
  domain::Housekeeping housekeeping_{session_rows_,   remember_rows_, throttle_,
                                     account_tokens_, outbox_,        clock_};
  const crypto::ZxcvbnPasswordStrength strength_;  // the real rules
  AuthctlContext context_{out_,
                          err_,
                          [this](ConfirmPassword confirm) {
                            prompts_.push_back(confirm);
                            return password_;
                          },
                          users_,
                          accounts_,
                          hasher_,
                          [this] {
                            ++migrate_calls_;
                            return applied_migrations_;
                          },
                          throttle_,
                          housekeeping_,
                          strength_};

  // `count` failed logins of the email from the address, just now.
  void fail_logins(const std::string& email, const std::string& address, int count) {
    for (int i = 0; i < count; ++i) {
      domain::Admission admission = throttle_.admit({email, address, std::nullopt});
      ASSERT_TRUE(admission.attempt);
      admission.attempt->failed();
    }
  }
};

TEST_F(AuthctlTest, AddHashesThePasswordAndStoresTheLowerCasedEmail) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash("correct horse")).WillOnce(Return("$argon2id$new"));
  EXPECT_CALL(users_, add("ann@example.com", "ann", "$argon2id$new")).WillOnce(Return(42));
  EXPECT_EQ(run({"user", "add", "--email", "  Ann@Example.COM ", "--username=ann"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("ann@example.com"));
  EXPECT_THAT(out_.str(), HasSubstr("42"));
  EXPECT_THAT(out_.str() + err_.str(), ::testing::Not(HasSubstr("correct horse")));
  EXPECT_EQ(prompts_, std::vector<ConfirmPassword>{ConfirmPassword::Yes});
}

TEST_F(AuthctlTest, AddWithTakenEmailIs3WithoutAskingForAPassword) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_EQ(run({"user", "add", "--email", "ann@example.com", "--username", "ann2"}),
            kExitDuplicate);
  EXPECT_THAT(err_.str(), HasSubstr("already exists"));
  EXPECT_THAT(prompts_, IsEmpty());
}

TEST_F(AuthctlTest, AddWithTakenUsernameIs3) {
  EXPECT_CALL(users_, find_by_email("bob@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash(_)).WillOnce(Return("$argon2id$new"));
  EXPECT_CALL(users_, add(_, _, _)).WillOnce(Throw(domain::DuplicateKey("users.username")));
  EXPECT_EQ(run({"user", "add", "--email", "bob@example.com", "--username", "ann"}),
            kExitDuplicate);
  EXPECT_THAT(err_.str(), HasSubstr("authctl: a user with that email or username already exists"));
}

TEST_F(AuthctlTest, AddWithBadEmailIs1AndTouchesNothing) {
  for (const char* email :
       {"not-an-email", "", "a@b", "a@\xff.example",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example"}) {
    err_.str("");
    EXPECT_EQ(run({"user", "add", "--email", email, "--username", "u"}), kExitUsage) << email;
    EXPECT_THAT(err_.str(), HasSubstr("email")) << email;
  }
  EXPECT_THAT(prompts_, IsEmpty());
}

TEST_F(AuthctlTest, AddWithBadUsernameIs1) {
  for (const std::string& username :
       {std::string(""), std::string(65, 'u'), std::string("a\nb"), std::string("\x1b[31m")}) {
    EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", username}), kExitUsage);
  }
  EXPECT_THAT(err_.str(), HasSubstr("username"));
}

TEST_F(AuthctlTest, UsernamesFollowFlaskysRuleInAscii) {
  // Each of these passes for "john" or hides something on a terminal.
  for (const std::string& username :
       {std::string("\xd1\x98ohn"), std::string("john\xc2\xa0"), std::string("jo\xc2\x85hn"),
        std::string("\xe2\x80\xaenhoj"), std::string("jos\xc3\xa9"), std::string("2john")}) {
    EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", username}), kExitUsage)
        << username;
  }
  EXPECT_THAT(
      err_.str(),
      HasSubstr("username: Usernames must have only letters, numbers, dots or underscores"));
  EXPECT_THAT(prompts_, IsEmpty()) << "refused before a password is asked";
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash(_)).WillOnce(Return("h"));
  EXPECT_CALL(users_, add(_, std::string(64, 'j'), _)).WillOnce(Return(1));
  EXPECT_EQ(run({"user", "add", "--email", "e@example.com", "--username", std::string(64, 'j')}),
            kExitOk);
}

TEST_F(AuthctlTest, ANewAddressIsAsciiOnly) {
  for (const char* email : {"paul@ex\xc3\xa4mple.com", "paul\xe2\x80\x8b@example.com"}) {
    EXPECT_EQ(run({"user", "add", "--email", email, "--username", "paul"}), kExitUsage) << email;
  }
  EXPECT_THAT(err_.str(), HasSubstr("email: Invalid email address."));
}

TEST_F(AuthctlTest, ANewPasswordFollowsTheFormsRulesWithTheReason) {
  EXPECT_CALL(users_, find_by_email(_)).WillRepeatedly(Return(std::nullopt));
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"short1!", "password: Password must be at least 8 characters long."},
      {"password1", "password: This password is too easy to guess"},
      {"carol-sings-2026!", "password: Password must not contain your username."}};
  for (const auto& [password, message] : refused) {
    password_ = {password, ""};
    err_.str("");
    EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", "carol"}), kExitUsage);
    EXPECT_THAT(err_.str(), HasSubstr(message)) << password;
  }
  // user passwd: the user's own name and address count.
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillRepeatedly(Return(kAnn));
  password_ = {std::string("ann@example-rules!"), ""};
  EXPECT_EQ(run({"user", "passwd", "--email", "ann@example.com"}), kExitUsage);
}

TEST_F(AuthctlTest, ConfirmMarksTheAccountConfirmedOnce) {
  domain::User unconfirmed = kAnn;
  unconfirmed.confirmed = false;
  EXPECT_CALL(users_, find_by_email("ann@example.com"))
      .WillOnce(Return(unconfirmed))
      .WillOnce(Return(kAnn));
  EXPECT_CALL(users_, confirm(7)).WillOnce(Return(true));
  EXPECT_EQ(run({"user", "confirm", "--email", "Ann@Example.com"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("confirmed ann@example.com"));
  EXPECT_EQ(run({"user", "confirm", "--email", "ann@example.com"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("is confirmed already"));
  EXPECT_CALL(users_, find_by_email("nobody@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_EQ(run({"user", "confirm", "--email", "nobody@example.com"}), kExitNotFound);
}

TEST_F(AuthctlTest, AddWithEmptyOrHugePasswordIs1) {
  EXPECT_CALL(users_, find_by_email(_)).Times(2).WillRepeatedly(Return(std::nullopt));
  password_ = {std::string(), ""};
  EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", "c"}), kExitUsage);
  password_ = {std::string(1025, 'p'), ""};
  EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", "c"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("password"));
}

TEST_F(AuthctlTest, AddWhenThePromptFailsIs1WithItsReason) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  password_ = {std::nullopt, "the passwords do not match"};
  EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", "c"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("the passwords do not match"));
}

TEST_F(AuthctlTest, AddWithGroupsAddsTheUserThenEachGroupOnce) {
  InSequence in_order;
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash("correct horse")).WillOnce(Return("$argon2id$new"));
  EXPECT_CALL(users_, add("ann@example.com", "ann", "$argon2id$new")).WillOnce(Return(42));
  EXPECT_CALL(users_, add_to_group(42, "admins")).WillOnce(Return(true));
  EXPECT_CALL(users_, add_to_group(42, "staff")).WillOnce(Return(true));
  EXPECT_EQ(run({"user", "add", "--email", "ann@example.com", "--group", "staff", "--username",
                 "ann", "--group=admins", "--group", "staff"}),
            kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("ann@example.com is in the groups admins, staff"));
}

TEST_F(AuthctlTest, AddWithABadGroupIs1BeforeAnyLookupOrPrompt) {
  for (const std::string& group :
       {std::string(""), std::string(65, 'g'), std::string("a,b"), std::string("two words"),
        std::string("adm\xc3\xafns"), std::string("x\x1b[2J")}) {
    err_.str("");
    EXPECT_EQ(run({"user", "add", "--email", "ann@example.com", "--username", "ann", "--group",
                   "admins", "--group", group}),
              kExitUsage)
        << group;
    EXPECT_THAT(err_.str(), HasSubstr("authctl: group: ")) << group;
    EXPECT_THAT(err_.str(), HasSubstr("1 to 64 of A-Z a-z 0-9 . _ -")) << group;
    EXPECT_THAT(err_.str(), ::testing::Not(HasSubstr("\x1b"))) << "the name is shown escaped";
  }
  EXPECT_THAT(prompts_, IsEmpty());
}

TEST_F(AuthctlTest, AddWithAGroupOf64CharactersIsAccepted) {
  const std::string group = std::string(61, 'g') + "._-";
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash(_)).WillOnce(Return("h"));
  EXPECT_CALL(users_, add(_, _, _)).WillOnce(Return(3));
  EXPECT_CALL(users_, add_to_group(3, group)).WillOnce(Return(true));
  EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", "c", "--group", group}),
            kExitOk);
}

TEST_F(AuthctlTest, AddWithoutGroupsAddsNoGroup) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash(_)).WillOnce(Return("h"));
  EXPECT_CALL(users_, add(_, _, _)).WillOnce(Return(3));
  EXPECT_EQ(run({"user", "add", "--email", "c@example.com", "--username", "c"}), kExitOk);
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("groups")));
}

TEST_F(AuthctlTest, AddWhoseUserIsDeletedBeforeItsGroupsIs2) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash(_)).WillOnce(Return("h"));
  EXPECT_CALL(users_, add(_, _, _)).WillOnce(Return(3));
  EXPECT_CALL(users_, add_to_group(3, "admins")).WillOnce(Return(false));
  EXPECT_EQ(
      run({"user", "add", "--email", "c@example.com", "--username", "c", "--group", "admins"}),
      kExitNotFound);
  EXPECT_THAT(err_.str(), HasSubstr("no user with the email c@example.com"));
}

TEST_F(AuthctlTest, AddWithTheDatabaseDownWhileAddingGroupsIs4) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(hasher_, hash(_)).WillOnce(Return("h"));
  EXPECT_CALL(users_, add(_, _, _)).WillOnce(Return(3));
  EXPECT_CALL(users_, add_to_group(3, "admins"))
      .WillOnce(Throw(domain::StorageUnavailable("gone")));
  EXPECT_EQ(
      run({"user", "add", "--email", "c@example.com", "--username", "c", "--group", "admins"}),
      kExitDatabase);
}

TEST_F(AuthctlTest, GroupAddAddsTheGroupAndSaysWhenItTakesEffect) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, groups_of(7)).WillOnce(Return(std::vector<std::string>{"staff"}));
  EXPECT_CALL(users_, add_to_group(7, "admins")).WillOnce(Return(true));
  EXPECT_EQ(run({"group", "add", "--email", "Ann@Example.com", "admins"}), kExitOk);
  EXPECT_EQ(out_.str(),
            "authctl: added ann@example.com to the group admins; this takes effect on the "
            "user's next request\n");
}

TEST_F(AuthctlTest, GroupAddTakesTheGroupBeforeOrAfterTheEmail) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).Times(2).WillRepeatedly(Return(kAnn));
  EXPECT_CALL(users_, groups_of(7)).Times(2).WillRepeatedly(Return(std::vector<std::string>{}));
  EXPECT_CALL(users_, add_to_group(7, "admins")).WillOnce(Return(true));
  EXPECT_CALL(users_, add_to_group(7, "--odd")).WillOnce(Return(true));
  EXPECT_EQ(run({"group", "add", "admins", "--email=ann@example.com"}), kExitOk);
  // "--" ends the options, for a group whose name starts like one.
  EXPECT_EQ(run({"group", "add", "--email", "ann@example.com", "--", "--odd"}), kExitOk);
}

TEST_F(AuthctlTest, GroupAddOfAGroupTheUserHasIs0AndSaysSo) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, groups_of(7)).WillOnce(Return(std::vector<std::string>{"admins"}));
  EXPECT_EQ(run({"group", "add", "--email", "ann@example.com", "admins"}), kExitOk);
  EXPECT_EQ(out_.str(), "authctl: ann@example.com is already in the group admins\n");
}

TEST_F(AuthctlTest, GroupAddComparesNamesExactly) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, groups_of(7)).WillOnce(Return(std::vector<std::string>{"admins"}));
  EXPECT_CALL(users_, add_to_group(7, "Admins")).WillOnce(Return(true));
  EXPECT_EQ(run({"group", "add", "--email", "ann@example.com", "Admins"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("added ann@example.com to the group Admins"));
}

TEST_F(AuthctlTest, GroupAddOrRemoveForAnUnknownUserIs2) {
  EXPECT_CALL(users_, find_by_email("nobody@example.com"))
      .Times(2)
      .WillRepeatedly(Return(std::nullopt));
  EXPECT_EQ(run({"group", "add", "--email", "nobody@example.com", "admins"}), kExitNotFound);
  EXPECT_EQ(run({"group", "remove", "--email", "nobody@example.com", "admins"}), kExitNotFound);
  EXPECT_EQ(err_.str(),
            "authctl: no user with the email nobody@example.com\n"
            "authctl: no user with the email nobody@example.com\n");
}

TEST_F(AuthctlTest, GroupAddRacingAUserDeleteIs2) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, groups_of(7)).WillOnce(Return(std::vector<std::string>{}));
  EXPECT_CALL(users_, add_to_group(7, "admins")).WillOnce(Return(false));
  EXPECT_EQ(run({"group", "add", "--email", "ann@example.com", "admins"}), kExitNotFound);
  EXPECT_THAT(err_.str(), HasSubstr("no user with the email ann@example.com"));
}

TEST_F(AuthctlTest, GroupCommandsPrintTheEmailEscaped) {
  // An email may hold any byte above ASCII, a right-to-left override (U+202E) among them.
  const domain::User odd{9, "ann\xe2\x80\xae@example.com", "odd", "h", {}};
  EXPECT_CALL(users_, find_by_email(odd.email)).Times(2).WillRepeatedly(Return(odd));
  EXPECT_CALL(users_, groups_of(9)).WillOnce(Return(std::vector<std::string>{}));
  EXPECT_CALL(users_, add_to_group(9, "admins")).WillOnce(Return(true));
  EXPECT_CALL(users_, remove_from_group(9, "staff")).WillOnce(Return(false));
  EXPECT_EQ(run({"group", "add", "--email", odd.email, "admins"}), kExitOk);
  EXPECT_EQ(run({"group", "remove", "--email", odd.email, "staff"}), kExitNotFound);
  EXPECT_THAT(out_.str(), HasSubstr("added ann\\xe2\\x80\\xae@example.com to the group admins"));
  EXPECT_THAT(err_.str(), HasSubstr("ann\\xe2\\x80\\xae@example.com is not in the group staff"));
  EXPECT_THAT(out_.str() + err_.str(), ::testing::Not(HasSubstr("\xe2\x80\xae")));
}

TEST_F(AuthctlTest, GroupRemoveRemovesTheGroupAndSaysWhenItTakesEffect) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, remove_from_group(7, "admins")).WillOnce(Return(true));
  EXPECT_EQ(run({"group", "remove", "--email", "ann@example.com", "admins"}), kExitOk);
  EXPECT_EQ(out_.str(),
            "authctl: removed ann@example.com from the group admins; this takes effect on the "
            "user's next request\n");
}

TEST_F(AuthctlTest, GroupRemoveOfAGroupTheUserIsNotInIs2) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, remove_from_group(7, "admins")).WillOnce(Return(false));
  EXPECT_EQ(run({"group", "remove", "--email", "ann@example.com", "admins"}), kExitNotFound);
  EXPECT_EQ(err_.str(), "authctl: ann@example.com is not in the group admins\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(AuthctlTest, GroupWithABadNameOrEmailIs1BeforeAnyLookup) {
  for (const std::string& group : {std::string(65, 'g'), std::string("admins,staff"),
                                   std::string("staff "), std::string("")}) {
    for (const char* command : {"add", "remove"}) {
      err_.str("");
      EXPECT_EQ(run({"group", command, "--email", "ann@example.com", group}), kExitUsage)
          << command << " " << group;
      EXPECT_THAT(err_.str(), HasSubstr("authctl: group: ")) << group;
    }
  }
  err_.str("");
  EXPECT_EQ(run({"group", "add", "--email", "not-an-email", "admins"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("email: Invalid email address."));
}

TEST_F(AuthctlTest, GroupWithTheDatabaseDownIs4) {
  EXPECT_CALL(users_, find_by_email(_)).Times(2).WillRepeatedly(Return(kAnn));
  EXPECT_CALL(users_, groups_of(7)).WillOnce(Throw(domain::StorageUnavailable("gone")));
  EXPECT_CALL(users_, remove_from_group(7, _)).WillOnce(Throw(domain::StorageUnavailable("gone")));
  EXPECT_EQ(run({"group", "add", "--email", "ann@example.com", "admins"}), kExitDatabase);
  EXPECT_EQ(run({"group", "remove", "--email", "ann@example.com", "admins"}), kExitDatabase);
}

TEST_F(AuthctlTest, PasswdChangesTheHashAndRevokesEverySessionAndToken) {
  InSequence in_order;
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(hasher_, hash("correct horse")).WillOnce(Return("$argon2id$new"));
  EXPECT_CALL(users_, update_password_hash(7, "$argon2id$new")).WillOnce(Return(true));
  EXPECT_CALL(tokens_, remove_for_user(7));
  EXPECT_CALL(sessions_, remove_for_user(7));
  EXPECT_EQ(run({"user", "passwd", "--email", "ANN@example.com"}), kExitOk);
  EXPECT_EQ(prompts_, std::vector<ConfirmPassword>{ConfirmPassword::Yes});
}

TEST_F(AuthctlTest, PasswdForUnknownEmailIs2) {
  EXPECT_CALL(users_, find_by_email("nobody@example.com")).WillOnce(Return(std::nullopt));
  EXPECT_EQ(run({"user", "passwd", "--email", "nobody@example.com"}), kExitNotFound);
  EXPECT_THAT(err_.str(), HasSubstr("no user"));
  EXPECT_THAT(prompts_, IsEmpty());
}

TEST_F(AuthctlTest, ListPrintsIdEmailUsernameConfirmedAndGroupsColumns) {
  domain::User bo{12, "bo@example.com", "bo", "h", {"admins", "staff"}};
  bo.confirmed = false;
  EXPECT_CALL(users_, list()).WillOnce(Return(std::vector<domain::User>{kAnn, bo}));
  EXPECT_EQ(run({"user", "list"}), kExitOk);
  EXPECT_EQ(out_.str(),
            "ID  EMAIL            USERNAME  CONFIRMED  GROUPS\n"
            "7   ann@example.com  ann       yes        -\n"
            "12  bo@example.com   bo        no         admins,staff\n");
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("argon2id")));
}

TEST_F(AuthctlTest, ListShowsStoredValuesEscapedSoNoneCanPassForAnother) {
  // Accounts from before the ASCII rule: a Cyrillic je, a right-to-left override, an escape.
  EXPECT_CALL(users_, list())
      .WillOnce(Return(
          std::vector<domain::User>{{1, "\xd1\x98ohn@example.com", "\xd1\x98ohn", "h", {}},
                                    {2, "john@example.com", "\xe2\x80\xaenhoj\x1b[2J", "h", {}}}));
  EXPECT_EQ(run({"user", "list"}), kExitOk);
  EXPECT_EQ(out_.str(),
            "ID  EMAIL                    USERNAME                 CONFIRMED  GROUPS\n"
            "1   \\xd1\\x98ohn@example.com  \\xd1\\x98ohn              yes        -\n"
            "2   john@example.com         \\xe2\\x80\\xaenhoj\\x1b[2J  yes        -\n");
}

TEST_F(AuthctlTest, DeleteRemovesTheUser) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, remove(7)).WillOnce(Return(true));
  EXPECT_EQ(run({"user", "delete", "--email", "ann@example.com"}), kExitOk);
}

TEST_F(AuthctlTest, DeleteOfUnknownUserIs2) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(std::nullopt));
  EXPECT_EQ(run({"user", "delete", "--email", "gone@example.com"}), kExitNotFound);
}

TEST_F(AuthctlTest, DeleteRacingAnotherDeleteIs2) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(kAnn));
  EXPECT_CALL(users_, remove(7)).WillOnce(Return(false));
  EXPECT_EQ(run({"user", "delete", "--email", "ann@example.com"}), kExitNotFound);
}

TEST_F(AuthctlTest, LogoutEverywhereRemovesSessionsAndTokens) {
  EXPECT_CALL(users_, find_by_email("ann@example.com")).WillOnce(Return(kAnn));
  EXPECT_CALL(sessions_, remove_for_user(7));
  EXPECT_CALL(tokens_, remove_for_user(7));
  EXPECT_EQ(run({"user", "logout-everywhere", "--email", "ann@example.com"}), kExitOk);
}

TEST_F(AuthctlTest, DatabaseDownIs4) {
  EXPECT_CALL(users_, list()).WillOnce(Throw(domain::StorageUnavailable("connection refused")));
  EXPECT_EQ(run({"user", "list"}), kExitDatabase);
  EXPECT_THAT(err_.str(), HasSubstr("database is unavailable"));
}

TEST_F(AuthctlTest, DatabaseDownDuringRevocationIs4) {
  EXPECT_CALL(users_, find_by_email(_)).WillOnce(Return(kAnn));
  EXPECT_CALL(tokens_, remove_for_user(7)).WillOnce(Throw(domain::StorageUnavailable("gone")));
  EXPECT_EQ(run({"user", "logout-everywhere", "--email", "ann@example.com"}), kExitDatabase);
}

TEST_F(AuthctlTest, MigrateReportsTheAppliedVersions) {
  applied_migrations_ = {1, 2};
  EXPECT_EQ(run({"db", "migrate"}), kExitOk);
  EXPECT_EQ(migrate_calls_, 1);
  EXPECT_THAT(out_.str(), HasSubstr("1, 2"));
  applied_migrations_.clear();
  EXPECT_EQ(run({"db", "migrate"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("up to date"));
}

TEST_F(AuthctlTest, UsageErrorsAre1AndTouchNothing) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"user"},
      {"user", "rename"},
      {"frobnicate", "now"},
      {"user", "add", "--email", "a@example.com"},
      {"user", "add", "--username", "a"},
      {"user", "add", "--email", "a@example.com", "--username", "a", "--admin", "yes"},
      {"user", "add", "--email", "a@example.com", "--username", "a", "--group"},
      {"user", "add", "--email", "a@example.com", "--username", "a", "admins"},
      {"user", "passwd", "--email", "a@example.com", "--group", "admins"},
      {"group"},
      {"group", "list"},
      {"group", "add", "--email", "a@example.com"},
      {"group", "add", "admins"},
      {"group", "add", "--email", "a@example.com", "admins", "staff"},
      {"group", "add", "--email", "a@example.com", "--group", "admins"},
      {"group", "remove", "--email", "a@example.com"},
      {"group", "remove", "--email", "a@example.com", "--", "admins", "staff"},
      {"user", "passwd", "--email"},
      {"user", "passwd", "--email", "a@example.com", "--email", "b@example.com"},
      {"user", "list", "extra"},
      {"db", "migrate", "--force", "x"},
      {"db", "prune", "now"},
      {"throttle"},
      {"throttle", "list", "--all"},
      {"throttle", "clear"},
      {"throttle", "clear", "--email"},
      {"throttle", "clear", "--email="},
      {"throttle", "clear", "--email", "a@example.com", "--address", "10.0.0.1"},
      {"throttle", "clear", "--all", "--email", "a@example.com"},
      {"throttle", "clear", "--everything"},
  };
  for (const auto& args : bad) {
    err_.str("");
    EXPECT_EQ(run(args), kExitUsage) << ::testing::PrintToString(args);
    EXPECT_THAT(err_.str(), HasSubstr("usage: authctl")) << ::testing::PrintToString(args);
  }
  EXPECT_EQ(migrate_calls_, 0);
}

TEST_F(AuthctlTest, ThrottleListShowsEachKeyItsFailuresAndTheWait) {
  fail_logins("ann@example.com", "203.0.113.9", 5);
  EXPECT_EQ(run({"throttle", "list"}), kExitOk);
  const std::string listed = out_.str();
  EXPECT_THAT(listed, HasSubstr("KEY"));
  EXPECT_THAT(listed, HasSubstr("pair ann@example.com 203.0.113.9"));
  EXPECT_THAT(listed, HasSubstr("address 203.0.113.9"));
  EXPECT_THAT(listed, HasSubstr("account ann@example.com"));
  EXPECT_THAT(listed, HasSubstr("60s (1 minute)"));
}

TEST_F(AuthctlTest, ThrottleListPrintsStoredBytesEscaped) {
  fail_logins("ann@example.com", "10.0.0.1\x1b[2J\xe2\x80\xae", 1);
  EXPECT_EQ(run({"throttle", "list"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("10.0.0.1\\x1b[2J\\xe2\\x80\\xae"));
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("\x1b")));
}

TEST_F(AuthctlTest, ThrottleClearByEmailFreesThatAccountOnly) {
  fail_logins("ann@example.com", "203.0.113.9", 5);
  fail_logins("bob@example.com", "203.0.113.9", 5);
  EXPECT_EQ(run({"throttle", "clear", "--email", "Ann@Example.com"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("cleared 2 throttle keys for ann@example.com"));
  EXPECT_TRUE(throttle_.admit({"ann@example.com", "203.0.113.9", std::nullopt}).attempt);
  EXPECT_FALSE(throttle_.admit({"bob@example.com", "203.0.113.9", std::nullopt}).attempt);
}

TEST_F(AuthctlTest, ThrottleClearByAddressAndAll) {
  fail_logins("ann@example.com", "203.0.113.9", 2);
  EXPECT_EQ(run({"throttle", "clear", "--address=203.0.113.9"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("cleared 2 throttle keys for 203.0.113.9"));
  EXPECT_EQ(run({"throttle", "clear", "--all"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("cleared 1 throttle key\n"));
  EXPECT_TRUE(throttle_store_.rows.empty());
}

TEST_F(AuthctlTest, ThrottleWithTheDatabaseDownIs4) {
  throttle_store_.unavailable = true;
  EXPECT_EQ(run({"throttle", "list"}), kExitDatabase);
  EXPECT_EQ(run({"throttle", "clear", "--all"}), kExitDatabase);
  EXPECT_EQ(run({"db", "prune"}), kExitDatabase);
}

TEST_F(AuthctlTest, DbPruneDeletesWhatNoLongerCounts) {
  fail_logins("ann@example.com", "203.0.113.9", 1);
  clock_.advance(3600);
  EXPECT_EQ(run({"db", "prune"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("throttle rows: 2 no longer counting deleted\n"));
  EXPECT_EQ(throttle_store_.rows.size(), 1U) << "the address's day is not over";
}

TEST_F(AuthctlTest, DbPruneSaysWhatItDeletedFromEachTable) {
  const std::int64_t now = clock_.now();
  session_rows_.create("expired-1", 7, now);
  session_rows_.create("expired-2", 7, now - 10);
  session_rows_.create("live", 7, now + 60);
  remember_rows_.insert({"old", "hash", 7, now - 1, now - 100, now - 200});
  remember_rows_.insert({"new", "hash", 7, now + 60, 0, now});
  account_tokens_.add(
      "link", domain::AccountToken{7, domain::TokenPurpose::ResetPassword, "", now - 1, ""});
  outbox_.enqueue({"ann@example.com", "s", "t", "h"}, domain::MailKind::ConfirmAccount, "",
                  now - 3 * 3600);
  outbox_.mark_sent(1, now - 3 * 3600);
  outbox_.enqueue({"ann@example.com", "s", "t", "h"}, domain::MailKind::ConfirmAccount, "",
                  now - 3 * 3600);  // still to deliver
  EXPECT_EQ(run({"db", "prune"}), kExitOk);
  EXPECT_EQ(out_.str(),
            "sessions: 2 expired deleted\n"
            "remember tokens: 1 expired deleted\n"
            "throttle rows: 0 no longer counting deleted\n"
            "account tokens: 1 expired deleted\n"
            "mails: 1 sent or given up over 2 h ago deleted\n");
  EXPECT_THAT(err_.str(), IsEmpty());
  EXPECT_EQ(session_rows_.rows.size(), 1U);
  EXPECT_EQ(remember_rows_.rows.count("new"), 1U);
  EXPECT_EQ(outbox_.rows.size(), 1U);
}

TEST_F(AuthctlTest, DbPruneWithTheDatabaseDownIs4WithAMessage) {
  session_rows_.unavailable = true;
  EXPECT_EQ(run({"db", "prune"}), kExitDatabase);
  EXPECT_THAT(err_.str(), HasSubstr("authctl: the database is unavailable"));
}

TEST_F(AuthctlTest, HelpDocumentsTheExitCodes) {
  EXPECT_EQ(run({"--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("exit codes"));
  EXPECT_THAT(out_.str(), HasSubstr("3  a user with that email or username already exists"));
  EXPECT_THAT(out_.str(), HasSubstr("4  the database is unavailable"));
  out_.str("");
  EXPECT_EQ(run({"help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("user logout-everywhere"));
  EXPECT_THAT(out_.str(), HasSubstr("user add --email E --username U [--group G]..."));
  EXPECT_THAT(out_.str(), HasSubstr("group add --email E G"));
  EXPECT_THAT(out_.str(), HasSubstr("group remove --email E G"));
  EXPECT_THAT(out_.str(), HasSubstr("1 to 64 of A-Z a-z 0-9 . _ -"));
}

}  // namespace
}  // namespace authfcgi::cli
