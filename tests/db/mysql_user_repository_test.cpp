#include "storage/mysql_user_repository.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db/db_test_support.h"
#include "domain/errors.h"

namespace authfcgi::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

class MysqlUserRepositoryTest : public testing::DbTest {
 protected:
  MysqlUserRepository users_{connection_};
};

TEST_F(MysqlUserRepositoryTest, AddedUserIsFoundByEmailAndById) {
  const auto id = users_.add("alice@example.com", "alice", "$argon2id$hash-a");
  ASSERT_GT(id, 0);

  const auto by_email = users_.find_by_email("alice@example.com");
  ASSERT_TRUE(by_email.has_value());
  EXPECT_EQ(by_email->id, id);
  EXPECT_EQ(by_email->email, "alice@example.com");
  EXPECT_EQ(by_email->username, "alice");
  EXPECT_EQ(by_email->password_hash, "$argon2id$hash-a");

  const auto by_id = users_.find_by_id(id);
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->email, "alice@example.com");
}

TEST_F(MysqlUserRepositoryTest, UnknownEmailOrIdIsNotFound) {
  users_.add("alice@example.com", "alice", "h");
  EXPECT_FALSE(users_.find_by_email("bob@example.com").has_value());
  EXPECT_FALSE(users_.find_by_id(987654).has_value());
}

TEST_F(MysqlUserRepositoryTest, EmailLookupIsExactNotAccentOrCaseFolded) {
  users_.add("jos\xc3\xa9@example.com", "jose", "h");  // josé
  EXPECT_FALSE(users_.find_by_email("jose@example.com").has_value());
  EXPECT_FALSE(users_.find_by_email("JOS\xc3\x89@example.com").has_value());
  const auto found = users_.find_by_email("jos\xc3\xa9@example.com");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->email, "jos\xc3\xa9@example.com");
}

TEST_F(MysqlUserRepositoryTest, ListIsOrderedById) {
  const auto first = users_.add("b@example.com", "bee", "h1");
  const auto second = users_.add("a@example.com", "ant", "h2");
  EXPECT_THAT(users_.list(),
              ElementsAre(Field(&domain::User::id, first), Field(&domain::User::id, second)));
}

TEST_F(MysqlUserRepositoryTest, RemoveDeletesOnceThenReportsNothingDeleted) {
  const auto id = users_.add("alice@example.com", "alice", "h");
  EXPECT_TRUE(users_.remove(id));
  EXPECT_FALSE(users_.find_by_id(id).has_value());
  EXPECT_FALSE(users_.remove(id));
  EXPECT_TRUE(users_.list().empty());
}

TEST_F(MysqlUserRepositoryTest, UpdatePasswordHashChangesOnlyThatUser) {
  const auto alice = users_.add("alice@example.com", "alice", "old-a");
  const auto bob = users_.add("bob@example.com", "bob", "old-b");
  EXPECT_TRUE(users_.update_password_hash(alice, "new-a"));
  EXPECT_EQ(users_.find_by_id(alice)->password_hash, "new-a");
  EXPECT_EQ(users_.find_by_id(bob)->password_hash, "old-b");
}

TEST_F(MysqlUserRepositoryTest, UpdatePasswordHashToSameValueStillReportsTheUserExists) {
  const auto alice = users_.add("alice@example.com", "alice", "same");
  EXPECT_TRUE(users_.update_password_hash(alice, "same"));
}

TEST_F(MysqlUserRepositoryTest, UpdatePasswordHashOfMissingUserReturnsFalse) {
  EXPECT_FALSE(users_.update_password_hash(424242, "whatever"));
}

TEST_F(MysqlUserRepositoryTest, ReplacePasswordHashSwapsOnlyTheExpectedHash) {
  const auto alice = users_.add("alice@example.com", "alice", "$argon2id$old-cost");
  const auto bob = users_.add("bob@example.com", "bob", "$argon2id$old-cost");
  EXPECT_TRUE(users_.replace_password_hash(alice, "$argon2id$old-cost", "$argon2id$new-cost"));
  EXPECT_EQ(users_.find_by_id(alice)->password_hash, "$argon2id$new-cost");
  EXPECT_EQ(users_.find_by_id(bob)->password_hash, "$argon2id$old-cost");
}

TEST_F(MysqlUserRepositoryTest, ReplacePasswordHashLosesToAPasswordChangedMeanwhile) {
  const auto alice = users_.add("alice@example.com", "alice", "$argon2id$old-password");
  // `authctl user passwd` runs between a login's read and its upgrade.
  ASSERT_TRUE(users_.update_password_hash(alice, "$argon2id$new-password"));
  EXPECT_FALSE(
      users_.replace_password_hash(alice, "$argon2id$old-password", "$argon2id$old-password-v2"));
  EXPECT_EQ(users_.find_by_id(alice)->password_hash, "$argon2id$new-password");
  EXPECT_FALSE(users_.replace_password_hash(424242, "a", "b"));
}

TEST_F(MysqlUserRepositoryTest, DuplicateEmailIsDuplicateKeyAndConnectionStaysUsable) {
  users_.add("alice@example.com", "alice", "h");
  EXPECT_THROW(users_.add("alice@example.com", "alice2", "h"), domain::DuplicateKey);
  EXPECT_EQ(users_.list().size(), 1U);
}

TEST_F(MysqlUserRepositoryTest, DuplicateUsernameIsDuplicateKey) {
  users_.add("alice@example.com", "alice", "h");
  EXPECT_THROW(users_.add("other@example.com", "alice", "h"), domain::DuplicateKey);
  EXPECT_FALSE(users_.find_by_email("other@example.com").has_value());
}

TEST_F(MysqlUserRepositoryTest, DuplicateKeyMessageNamesTheKeyNotTheValue) {
  users_.add("alice@example.com", "alice", "h");
  try {
    users_.add("alice@example.com", "alice2", "h");
    FAIL() << "expected DuplicateKey";
  } catch (const domain::DuplicateKey& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("email"));
    EXPECT_THAT(error.what(), ::testing::Not(::testing::HasSubstr("alice@example.com")));
  }
}

TEST_F(MysqlUserRepositoryTest, SqlInjectionStringsAreStoredAndFoundLiterally) {
  const std::string hostile_email = "x' OR '1'='1";
  const std::string dropper = "a@b.c'); DROP TABLE users; --";
  users_.add("alice@example.com", "alice", "h");
  EXPECT_FALSE(users_.find_by_email(hostile_email).has_value());

  const auto id = users_.add(hostile_email, "mallory", "h");
  const auto id2 = users_.add(dropper, "robert\"; --", "h");
  const auto found = users_.find_by_email(hostile_email);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->email, hostile_email);
  ASSERT_TRUE(users_.find_by_email(dropper).has_value());
  EXPECT_EQ(users_.find_by_email(dropper)->id, id2);
  EXPECT_EQ(users_.find_by_email(dropper)->username, "robert\"; --");
  EXPECT_EQ(users_.list().size(), 3U);
}

}  // namespace
}  // namespace authfcgi::storage
