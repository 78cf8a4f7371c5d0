#include "storage/mysql_session_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db/db_test_support.h"
#include "storage/mysql_remember_token_store.h"
#include "storage/mysql_user_repository.h"

namespace authfcgi::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kSidA(64, 'a');
const std::string kSidB(64, 'b');

class MysqlSessionStoreTest : public testing::DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    alice_ = users_.add("alice@example.com", "alice", "hash-a");
    bob_ = users_.add("bob@example.com", "bob", "hash-b");
  }

  MysqlUserRepository users_{connection_};
  MysqlSessionStore sessions_{connection_};
  domain::UserId alice_ = 0;
  domain::UserId bob_ = 0;
};

TEST_F(MysqlSessionStoreTest, CreatedSessionFindsItsUser) {
  sessions_.create(kSidA, alice_, kNow + 3600);
  const auto user = sessions_.find_user(kSidA, kNow);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->id, alice_);
  EXPECT_EQ(user->email, "alice@example.com");
  EXPECT_EQ(user->username, "alice");
}

TEST_F(MysqlSessionStoreTest, FoundUserSaysWhetherItsEmailIsConfirmed) {
  const auto carol = users_.add_unconfirmed("carol@example.com", "carol", "hash-c");
  sessions_.create(kSidA, alice_, kNow + 3600);
  sessions_.create(kSidB, carol, kNow + 3600);
  EXPECT_TRUE(sessions_.find_user(kSidA, kNow)->email_confirmed);
  EXPECT_FALSE(sessions_.find_user(kSidB, kNow)->email_confirmed);
  ASSERT_TRUE(users_.confirm(carol));
  EXPECT_TRUE(sessions_.find_user(kSidB, kNow)->email_confirmed) << "on the next request";
}

TEST_F(MysqlSessionStoreTest, FoundUserCarriesItsGroupsSorted) {
  ASSERT_TRUE(users_.add_to_group(alice_, "staff"));
  ASSERT_TRUE(users_.add_to_group(alice_, "admins"));
  ASSERT_TRUE(users_.add_to_group(alice_, "Zeta"));
  ASSERT_TRUE(users_.add_to_group(bob_, "bobs-only"));
  sessions_.create(kSidA, alice_, kNow + 3600);
  const auto user = sessions_.find_user(kSidA, kNow);
  ASSERT_TRUE(user.has_value());
  // Byte order, as groups_of sorts: upper case first.
  EXPECT_THAT(user->groups, ::testing::ElementsAre("Zeta", "admins", "staff"));
}

TEST_F(MysqlSessionStoreTest, FoundUserWithoutGroupsHasNone) {
  ASSERT_TRUE(users_.add_to_group(bob_, "admins"));
  sessions_.create(kSidA, alice_, kNow + 3600);
  const auto user = sessions_.find_user(kSidA, kNow);
  ASSERT_TRUE(user.has_value());
  EXPECT_THAT(user->groups, ::testing::IsEmpty());
}

TEST_F(MysqlSessionStoreTest, GroupChangesShowOnTheNextLookup) {
  sessions_.create(kSidA, alice_, kNow + 3600);
  ASSERT_TRUE(users_.add_to_group(alice_, "admins"));
  EXPECT_THAT(sessions_.find_user(kSidA, kNow)->groups, ::testing::ElementsAre("admins"));
  ASSERT_TRUE(users_.remove_from_group(alice_, "admins"));
  const auto user = sessions_.find_user(kSidA, kNow);
  ASSERT_TRUE(user.has_value()) << "the session outlives the group change";
  EXPECT_THAT(user->groups, ::testing::IsEmpty());
}

TEST_F(MysqlSessionStoreTest, ManyLongGroupsComeBackWhole) {
  // 40 names of 64 bytes joined are 2599 bytes: more than MySQL's default
  // group_concat_max_len (1024), which would cut the list short without an error.
  std::vector<std::string> groups;
  for (int i = 10; i < 50; ++i) {
    groups.push_back(std::string(62, 'g') + std::to_string(i));
    ASSERT_TRUE(users_.add_to_group(alice_, groups.back()));
  }
  sessions_.create(kSidA, alice_, kNow + 3600);
  const auto user = sessions_.find_user(kSidA, kNow);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->groups, groups);
}

TEST_F(MysqlSessionStoreTest, UnknownSessionIsNotFound) {
  sessions_.create(kSidA, alice_, kNow + 3600);
  EXPECT_FALSE(sessions_.find_user(kSidB, kNow).has_value());
}

TEST_F(MysqlSessionStoreTest, ExpiredSessionIsNotFound) {
  sessions_.create(kSidA, alice_, kNow);
  EXPECT_TRUE(sessions_.find_user(kSidA, kNow - 1).has_value());
  EXPECT_FALSE(sessions_.find_user(kSidA, kNow).has_value());
  EXPECT_FALSE(sessions_.find_user(kSidA, kNow + 1).has_value());
}

TEST_F(MysqlSessionStoreTest, RemovedSessionIsNotFoundAndOthersStay) {
  sessions_.create(kSidA, alice_, kNow + 3600);
  sessions_.create(kSidB, alice_, kNow + 3600);
  sessions_.remove(kSidA);
  EXPECT_FALSE(sessions_.find_user(kSidA, kNow).has_value());
  EXPECT_TRUE(sessions_.find_user(kSidB, kNow).has_value());
}

TEST_F(MysqlSessionStoreTest, RemoveForUserEndsOnlyThatUsersSessions) {
  const std::string alice_second(64, 'c');
  sessions_.create(kSidA, alice_, kNow + 3600);
  sessions_.create(alice_second, alice_, kNow + 3600);
  sessions_.create(kSidB, bob_, kNow + 3600);
  sessions_.remove_for_user(alice_);
  EXPECT_FALSE(sessions_.find_user(kSidA, kNow).has_value());
  EXPECT_FALSE(sessions_.find_user(alice_second, kNow).has_value());
  ASSERT_TRUE(sessions_.find_user(kSidB, kNow).has_value());
  EXPECT_EQ(sessions_.find_user(kSidB, kNow)->id, bob_);
}

TEST_F(MysqlSessionStoreTest, DeletingTheUserEndsItsSessionsAndTokens) {
  MysqlRememberTokenStore tokens{connection_};
  sessions_.create(kSidA, alice_, kNow + 3600);
  tokens.insert({"sel-alice", std::string(64, 'f'), alice_, kNow + 3600});
  ASSERT_TRUE(users_.remove(alice_));
  EXPECT_FALSE(sessions_.find_user(kSidA, kNow).has_value());
  EXPECT_FALSE(tokens.find("sel-alice").has_value());
}

TEST_F(MysqlSessionStoreTest, SessionForMissingUserIsRejected) {
  // The foreign key: a row can never point at a user that does not exist.
  EXPECT_ANY_THROW(sessions_.create(kSidA, 999999, kNow + 3600));
  EXPECT_FALSE(sessions_.find_user(kSidA, kNow).has_value());
}

TEST_F(MysqlSessionStoreTest, TrimKeepsTheNewestRowsOfTheUserAndDropsExpiredOnes) {
  const auto sid = [](int i) { return std::string(60, 's') + std::to_string(1000 + i); };
  // All created within one second: creation order, not time, decides which are the oldest.
  for (int i = 0; i < 6; ++i) {
    sessions_.create(sid(i), alice_, kNow + 3600);
  }
  sessions_.create(kSidB, bob_, kNow + 3600);
  sessions_.trim_for_user(alice_, 4, kNow);
  EXPECT_FALSE(sessions_.find_user(sid(0), kNow).has_value());
  EXPECT_FALSE(sessions_.find_user(sid(1), kNow).has_value());
  for (int i = 2; i < 6; ++i) {
    EXPECT_TRUE(sessions_.find_user(sid(i), kNow).has_value()) << i;
  }
  EXPECT_TRUE(sessions_.find_user(kSidB, kNow).has_value()) << "other users are untouched";

  sessions_.trim_for_user(alice_, 4, kNow + 3600);  // every row has expired by then
  EXPECT_FALSE(sessions_.find_user(sid(5), kNow).has_value());
  sessions_.trim_for_user(bob_, 100, kNow);  // fewer rows than the bound: nothing to do
  EXPECT_TRUE(sessions_.find_user(kSidB, kNow).has_value());
}

}  // namespace
}  // namespace authfcgi::storage
