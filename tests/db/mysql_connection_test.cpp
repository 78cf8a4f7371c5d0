#include "storage/mysql_connection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include "db/db_test_support.h"
#include "domain/errors.h"
#include "storage/cppconn.h"
#include "storage/mysql_user_repository.h"

namespace authfcgi::storage {
namespace {

std::int64_t connection_id(MysqlConnection& connection) {
  std::int64_t id = 0;
  connection.with_statement("SELECT CONNECTION_ID()", [&](sql::PreparedStatement& statement) {
    const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
    id = rows->next() ? rows->getInt64(1) : 0;
  });
  return id;
}

using MysqlConnectionTest = testing::DbTest;

TEST_F(MysqlConnectionTest, UnreachableServerIsStorageUnavailableQuickly) {
  storage::DatabaseSettings config = testing::test_database_config();
  config.unix_socket.clear();
  config.host = "127.0.0.1";
  config.port = 1;  // nothing listens on tcpmux
  MysqlConnection unreachable(config);
  MysqlUserRepository users(unreachable);

  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW((void)users.find_by_email("alice@example.com"), domain::StorageUnavailable);
  EXPECT_THROW((void)users.find_by_email("alice@example.com"), domain::StorageUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(MysqlConnectionTest, MissingSocketIsStorageUnavailable) {
  storage::DatabaseSettings config = testing::test_database_config();
  config.unix_socket = "/nonexistent/authfcgi-test.sock";
  MysqlConnection unreachable(config);
  EXPECT_THROW((void)MysqlUserRepository(unreachable).list(), domain::StorageUnavailable);
}

TEST_F(MysqlConnectionTest, WrongPasswordIsStorageUnavailableWithoutThePassword) {
  storage::DatabaseSettings config = testing::test_database_config();
  config.password = "wrong-secret-Zq9";
  MysqlConnection refused(config);
  try {
    (void)MysqlUserRepository(refused).list();
    FAIL() << "expected StorageUnavailable";
  } catch (const domain::StorageUnavailable& error) {
    EXPECT_EQ(std::string(error.what()).find("wrong-secret-Zq9"), std::string::npos);
  }
}

TEST_F(MysqlConnectionTest, KilledConnectionReconnectsByTheNextCall) {
  MysqlUserRepository users(connection_);
  const auto alice = users.add("alice@example.com", "alice", "h");
  const auto before = connection_id(connection_);
  ASSERT_GT(before, 0);

  MysqlConnection killer(testing::test_database_config());
  killer.execute("KILL CONNECTION " + std::to_string(before));

  // The first call may notice the dead socket (503 for that request) or already succeed; the
  // call after it must work on a fresh connection.
  try {
    (void)users.find_by_id(alice);
  } catch (const domain::StorageUnavailable&) {
  }
  const auto found = users.find_by_id(alice);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->email, "alice@example.com");
  EXPECT_NE(connection_id(connection_), before);
}

// Longer than the idle time after which a connection is checked before use.
constexpr auto kPastIdleCheck = std::chrono::milliseconds(1500);

TEST_F(MysqlConnectionTest, ConnectionKilledWhileIdleIsReplacedBeforeTheNextStatement) {
  MysqlUserRepository users(connection_);
  const auto alice = users.add("alice@example.com", "alice", "h");
  ASSERT_TRUE(users.find_by_id(alice).has_value());  // its statement is now prepared
  const auto before = connection_id(connection_);

  MysqlConnection killer(testing::test_database_config());
  killer.execute("KILL CONNECTION " + std::to_string(before));
  std::this_thread::sleep_for(kPastIdleCheck);

  // No error for the first statement, which runs exactly once: a second run of the insert
  // would be a duplicate key.
  EXPECT_NO_THROW(users.add("bob@example.com", "bob", "h"));
  EXPECT_EQ(users.list().size(), 2U);
  const auto found = users.find_by_id(alice);  // prepared again on the new connection
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->email, "alice@example.com");
  EXPECT_NE(connection_id(connection_), before);
}

TEST_F(MysqlConnectionTest, ConnectionClosedByWaitTimeoutIsReplacedBeforeTheNextStatement) {
  MysqlUserRepository users(connection_);
  const auto alice = users.add("alice@example.com", "alice", "h");
  connection_.execute("SET SESSION wait_timeout = 1");
  const auto before = connection_id(connection_);
  // The server closes the connection after a second without a statement.
  std::this_thread::sleep_for(std::chrono::seconds(3));

  std::optional<domain::User> found;
  EXPECT_NO_THROW(found = users.find_by_id(alice));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->username, "alice");
  EXPECT_NE(connection_id(connection_), before);
}

TEST_F(MysqlConnectionTest, StatementRightAfterAKillIsSentAgainOnAFreshConnection) {
  // Over a unix socket the client cannot even send to a connection the server closed, so the
  // statement has not run and goes out again at once (no idle time needed, as after a fast
  // restart). Over TCP the send may succeed and only the idle check helps.
  if (testing::test_database_config().unix_socket.empty()) {
    GTEST_SKIP() << "the test database is reached over TCP";
  }
  MysqlUserRepository users(connection_);
  const auto alice = users.add("alice@example.com", "alice", "h");
  const auto before = connection_id(connection_);
  MysqlConnection killer(testing::test_database_config());
  killer.execute("KILL CONNECTION " + std::to_string(before));

  EXPECT_NO_THROW(users.add("bob@example.com", "bob", "h"));  // once: no duplicate key
  EXPECT_EQ(users.list().size(), 2U);
  ASSERT_TRUE(users.find_by_id(alice).has_value());
  EXPECT_NE(connection_id(connection_), before);
}

TEST_F(MysqlConnectionTest, SessionGuardTurnsALostSessionIntoAnErrorInsteadOfAReconnect) {
  const auto lock = [&](const std::string& sql_text) {
    connection_.with_statement(sql_text, [](sql::PreparedStatement& statement) {
      const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
    });
  };
  lock("SELECT GET_LOCK('authfcgi_test_lock', 0)");
  const auto before = connection_id(connection_);
  MysqlConnection killer(testing::test_database_config());
  {
    const MysqlConnection::SessionGuard same_session(connection_);
    killer.execute("KILL CONNECTION " + std::to_string(before));
    std::this_thread::sleep_for(kPastIdleCheck);
    // A fresh connection would not hold the lock: the statement fails, now and later.
    EXPECT_THROW(lock("SELECT RELEASE_LOCK('authfcgi_test_lock')"), domain::StorageUnavailable);
    EXPECT_THROW((void)connection_id(connection_), domain::StorageUnavailable);
  }
  // Without the guard the connection is replaced as usual.
  EXPECT_NE(connection_id(connection_), before);
}

TEST_F(MysqlConnectionTest, SessionGuardKeepsALiveSession) {
  const auto before = connection_id(connection_);
  const MysqlConnection::SessionGuard same_session(connection_);
  std::this_thread::sleep_for(kPastIdleCheck);
  EXPECT_EQ(connection_id(connection_), before);
}

TEST_F(MysqlConnectionTest, SqlErrorIsStorageUnavailableAndConnectionRecovers) {
  EXPECT_THROW(connection_.execute("SELECT * FROM no_such_table"), domain::StorageUnavailable);
  MysqlUserRepository users(connection_);
  users.add("alice@example.com", "alice", "h");
  EXPECT_EQ(users.list().size(), 1U);
}

}  // namespace
}  // namespace authfcgi::storage
