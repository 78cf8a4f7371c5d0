#include "storage/mysql_user_repository.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/db_test_support.h"
#include "domain/errors.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

class MysqlUserRepositoryTest : public testing::DbTest {
 protected:
  // Rows of user_groups, counted apart from the repository under test.
  std::int64_t membership_rows() {
    std::int64_t count = -1;
    connection_.with_statement(
        "SELECT COUNT(*) FROM user_groups", [&](sql::PreparedStatement& statement) {
          const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
          count = rows->next() ? rows->getInt64(1) : -1;
        });
    return count;
  }

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

TEST_F(MysqlUserRepositoryTest, AddedGroupsAreListedSortedAndRemovedOneByOne) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  EXPECT_THAT(users_.groups_of(alice), IsEmpty());
  EXPECT_TRUE(users_.add_to_group(alice, "staff"));
  EXPECT_TRUE(users_.add_to_group(alice, "admins"));
  EXPECT_TRUE(users_.add_to_group(alice, "ops.team-2_b"));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("admins", "ops.team-2_b", "staff"));

  EXPECT_TRUE(users_.remove_from_group(alice, "admins"));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("ops.team-2_b", "staff"));
  EXPECT_FALSE(users_.remove_from_group(alice, "admins")) << "not in the group any more";
  EXPECT_EQ(membership_rows(), 2);
}

TEST_F(MysqlUserRepositoryTest, AddingAGroupTheUserHasKeepsOneRowAndReportsTheUserExists) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  ASSERT_TRUE(users_.add_to_group(alice, "admins"));
  EXPECT_TRUE(users_.add_to_group(alice, "admins"));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("admins"));
  EXPECT_EQ(membership_rows(), 1);
}

TEST_F(MysqlUserRepositoryTest, GroupsOfOneUserAreNotAnothers) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  const auto bob = users_.add("bob@example.com", "bob", "h");
  ASSERT_TRUE(users_.add_to_group(alice, "admins"));
  ASSERT_TRUE(users_.add_to_group(bob, "staff"));
  EXPECT_FALSE(users_.remove_from_group(bob, "admins"));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("admins"));
  EXPECT_THAT(users_.groups_of(bob), ElementsAre("staff"));
}

TEST_F(MysqlUserRepositoryTest, GroupNamesCompareByteForByte) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  ASSERT_TRUE(users_.add_to_group(alice, "Admins"));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("Admins"));
  EXPECT_FALSE(users_.remove_from_group(alice, "admins")) << "\"admins\" is another group";
  EXPECT_FALSE(users_.remove_from_group(alice, "Admins ")) << "no trailing-space padding";
  EXPECT_TRUE(users_.add_to_group(alice, "admins"));
  // Binary order: upper case before lower case.
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("Admins", "admins"));
  EXPECT_TRUE(users_.remove_from_group(alice, "Admins"));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("admins"));
}

TEST_F(MysqlUserRepositoryTest, AGroupNameOf64CharactersIsKeptWhole) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  const std::string longest = std::string(63, 'g') + "z";
  ASSERT_TRUE(users_.add_to_group(alice, longest));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre(longest));
  EXPECT_TRUE(users_.remove_from_group(alice, longest));
}

TEST_F(MysqlUserRepositoryTest, AddToGroupForAMissingUserIsFalseAndWritesNothing) {
  EXPECT_FALSE(users_.add_to_group(424242, "admins"));
  EXPECT_EQ(membership_rows(), 0);
  EXPECT_THAT(users_.groups_of(424242), IsEmpty());
  EXPECT_FALSE(users_.remove_from_group(424242, "admins"));
}

TEST_F(MysqlUserRepositoryTest, DeletingAUserDeletesItsMemberships) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  const auto bob = users_.add("bob@example.com", "bob", "h");
  ASSERT_TRUE(users_.add_to_group(alice, "admins"));
  ASSERT_TRUE(users_.add_to_group(alice, "staff"));
  ASSERT_TRUE(users_.add_to_group(bob, "staff"));
  ASSERT_TRUE(users_.remove(alice));
  EXPECT_EQ(membership_rows(), 1) << "only bob's row is left";
  EXPECT_THAT(users_.groups_of(alice), IsEmpty());
  EXPECT_THAT(users_.groups_of(bob), ElementsAre("staff"));
}

TEST_F(MysqlUserRepositoryTest, ListCarriesEachUsersGroupsSorted) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  const auto bob = users_.add("bob@example.com", "bob", "h");
  const auto carol = users_.add("carol@example.com", "carol", "h");
  ASSERT_TRUE(users_.add_to_group(carol, "staff"));
  ASSERT_TRUE(users_.add_to_group(alice, "staff"));
  ASSERT_TRUE(users_.add_to_group(alice, "admins"));
  const auto listed = users_.list();
  ASSERT_EQ(listed.size(), 3U);
  EXPECT_EQ(listed[0].id, alice);
  EXPECT_THAT(listed[0].groups, ElementsAre("admins", "staff"));
  EXPECT_EQ(listed[1].id, bob);
  EXPECT_THAT(listed[1].groups, IsEmpty());
  EXPECT_EQ(listed[2].id, carol);
  EXPECT_THAT(listed[2].groups, ElementsAre("staff"));
}

TEST_F(MysqlUserRepositoryTest, GroupNamesAreBoundNotSpliced) {
  const auto alice = users_.add("alice@example.com", "alice", "h");
  const std::string hostile = "x' OR '1'='1";
  ASSERT_TRUE(users_.add_to_group(alice, "admins"));
  EXPECT_FALSE(users_.remove_from_group(alice, hostile));
  EXPECT_THAT(users_.groups_of(alice), ElementsAre("admins"));
}

}  // namespace
}  // namespace authfcgi::storage

namespace authfcgi::storage {
namespace {

class MysqlAccountsSchemaTest : public testing::DbTest {
 protected:
  // Every text column of the schema that compares otherwise than byte for byte.
  std::vector<std::string> non_binary_text_columns() {
    std::vector<std::string> found;
    connection_.with_statement(
        "SELECT CONCAT(table_name, '.', column_name, ' ', collation_name) FROM "
        "information_schema.columns WHERE table_schema = DATABASE() AND collation_name IS NOT "
        "NULL AND collation_name NOT LIKE '%\\_bin'",
        [&](sql::PreparedStatement& statement) {
          const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
          while (rows->next()) {
            found.push_back(rows->getString(1));
          }
        });
    return found;
  }
  MysqlUserRepository users_{connection_};
};

TEST_F(MysqlAccountsSchemaTest, EveryTextColumnOfTheAccountsComparesBinary) {
  // Under an accent-insensitive collation paul@exämple.com would find paul@example.com.
  EXPECT_THAT(non_binary_text_columns(), IsEmpty());
  users_.add("paul@example.com", "paul", "h");
  EXPECT_FALSE(users_.find_by_email("paul@ex\xc3\xa4mple.com").has_value());
  EXPECT_NO_THROW(users_.add("paul@ex\xc3\xa4mple.com", "paul2", "h")) << "two addresses";
}

TEST_F(MysqlAccountsSchemaTest, ARegisteredAccountStaysUnconfirmedUntilConfirmed) {
  const auto added = users_.add("ann@example.com", "ann", "h");
  const auto registered = users_.add_unconfirmed("bob@example.com", "bob", "h");
  EXPECT_TRUE(users_.find_by_id(added)->confirmed) << "authctl's accounts are confirmed";
  EXPECT_FALSE(users_.find_by_email("bob@example.com")->confirmed);
  EXPECT_TRUE(users_.confirm(registered));
  EXPECT_TRUE(users_.confirm(registered)) << "again: still there";
  EXPECT_TRUE(users_.find_by_id(registered)->confirmed);
  EXPECT_FALSE(users_.confirm(987654));
}

}  // namespace
}  // namespace authfcgi::storage
