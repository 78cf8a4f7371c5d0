#include "storage/mysql_remember_token_store.h"

#include <gtest/gtest.h>

#include "db/db_test_support.h"
#include "domain/errors.h"
#include "storage/mysql_user_repository.h"

namespace authfcgi::storage {
namespace {

constexpr std::int64_t kExpires = 1'800'000'000;

class MysqlRememberTokenStoreTest : public testing::DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    alice_ = users_.add("alice@example.com", "alice", "h");
    bob_ = users_.add("bob@example.com", "bob", "h");
  }

  domain::RememberTokenRecord record(std::string selector, domain::UserId user, char fill) {
    return {std::move(selector), std::string(64, fill), user, kExpires, 0};
  }

  MysqlUserRepository users_{connection_};
  MysqlRememberTokenStore tokens_{connection_};
  domain::UserId alice_ = 0;
  domain::UserId bob_ = 0;
};

TEST_F(MysqlRememberTokenStoreTest, InsertedTokenIsFoundAsStored) {
  tokens_.insert(record("Sel_ector-1", alice_, '7'));
  const auto found = tokens_.find("Sel_ector-1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->selector, "Sel_ector-1");
  EXPECT_EQ(found->validator_hash, std::string(64, '7'));
  EXPECT_EQ(found->user_id, alice_);
  EXPECT_EQ(found->expires_at, kExpires);
}

TEST_F(MysqlRememberTokenStoreTest, SelectorMatchIsCaseSensitive) {
  tokens_.insert(record("AbCdEf", alice_, '1'));
  EXPECT_FALSE(tokens_.find("abcdef").has_value());
  EXPECT_FALSE(tokens_.find("ABCDEF").has_value());
  EXPECT_TRUE(tokens_.find("AbCdEf").has_value());
}

TEST_F(MysqlRememberTokenStoreTest, UnknownSelectorIsNotFound) {
  tokens_.insert(record("known", alice_, '1'));
  EXPECT_FALSE(tokens_.find("unknown").has_value());
  EXPECT_FALSE(tokens_.find("' OR '1'='1").has_value());
}

TEST_F(MysqlRememberTokenStoreTest, SameSelectorTwiceIsDuplicateKey) {
  tokens_.insert(record("dup", alice_, '1'));
  EXPECT_THROW(tokens_.insert(record("dup", bob_, '2')), domain::DuplicateKey);
  EXPECT_EQ(tokens_.find("dup")->user_id, alice_);
}

TEST_F(MysqlRememberTokenStoreTest, RemovedTokenIsNotFoundAndOthersStay) {
  tokens_.insert(record("one", alice_, '1'));
  tokens_.insert(record("two", alice_, '2'));
  tokens_.remove("one");
  EXPECT_FALSE(tokens_.find("one").has_value());
  EXPECT_TRUE(tokens_.find("two").has_value());
}

TEST_F(MysqlRememberTokenStoreTest, RemoveForUserDeletesOnlyThatUsersTokens) {
  tokens_.insert(record("a1", alice_, '1'));
  tokens_.insert(record("a2", alice_, '2'));
  tokens_.insert(record("b1", bob_, '3'));
  tokens_.remove_for_user(alice_);
  EXPECT_FALSE(tokens_.find("a1").has_value());
  EXPECT_FALSE(tokens_.find("a2").has_value());
  EXPECT_TRUE(tokens_.find("b1").has_value());
}

TEST_F(MysqlRememberTokenStoreTest, NewTokenIsUnusedAndOnlyTheFirstMarkWins) {
  tokens_.insert(record("fresh", alice_, '1'));
  EXPECT_EQ(tokens_.find("fresh")->used_at, 0);
  EXPECT_TRUE(tokens_.mark_used("fresh", 1'700'000'100));
  EXPECT_FALSE(tokens_.mark_used("fresh", 1'700'000'200));
  EXPECT_EQ(tokens_.find("fresh")->used_at, 1'700'000'100);
  EXPECT_FALSE(tokens_.mark_used("absent", 1'700'000'100));
}

TEST_F(MysqlRememberTokenStoreTest, TrimKeepsTheNewestLiveTokensAndTheLongestLivedUsedOnes) {
  for (int i = 0; i < 4; ++i) {
    tokens_.insert(record("live-" + std::to_string(i), alice_, 'a'));
  }
  // Used tokens, issued at 1000 and used after 5000, 10, 3000 and 10 seconds.
  const std::pair<const char*, std::int64_t> used[] = {
      {"used-long", 5000}, {"used-short-1", 10}, {"used-mid", 3000}, {"used-short-2", 10}};
  for (const auto& [selector, lived] : used) {
    auto token = record(selector, alice_, 'u');
    token.issued_at = 1000;
    tokens_.insert(token);
    ASSERT_TRUE(tokens_.mark_used(selector, 1000 + lived));
  }
  tokens_.insert(record("bob-0", bob_, 'b'));
  tokens_.trim_for_user(alice_, 2, kExpires - 10);
  EXPECT_FALSE(tokens_.find("live-0").has_value());
  EXPECT_FALSE(tokens_.find("live-1").has_value());
  EXPECT_TRUE(tokens_.find("live-2").has_value());
  EXPECT_TRUE(tokens_.find("live-3").has_value());
  EXPECT_TRUE(tokens_.find("used-long").has_value()) << "the longest-lived used token stays";
  EXPECT_TRUE(tokens_.find("used-mid").has_value());
  EXPECT_FALSE(tokens_.find("used-short-1").has_value());
  EXPECT_FALSE(tokens_.find("used-short-2").has_value());
  EXPECT_TRUE(tokens_.find("bob-0").has_value()) << "other users are untouched";
  EXPECT_EQ(tokens_.find("used-long")->issued_at, 1000);
  tokens_.trim_for_user(alice_, 2, kExpires);  // all of them expired by then
  EXPECT_FALSE(tokens_.find("live-3").has_value());
  EXPECT_FALSE(tokens_.find("used-long").has_value());
}

TEST_F(MysqlRememberTokenStoreTest, RemoveUnusedLeavesAUsedToken) {
  tokens_.insert(record("live", alice_, 'a'));
  tokens_.insert(record("used", alice_, 'a'));
  ASSERT_TRUE(tokens_.mark_used("used", 1000));
  EXPECT_TRUE(tokens_.remove_unused("live"));
  EXPECT_FALSE(tokens_.find("live").has_value());
  EXPECT_FALSE(tokens_.remove_unused("used"));
  EXPECT_TRUE(tokens_.find("used").has_value());
  EXPECT_FALSE(tokens_.remove_unused("gone"));
}

}  // namespace
}  // namespace authfcgi::storage
