#include "storage/mysql_connection.h"

#include <gtest/gtest.h>

#include <chrono>

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
  config::DatabaseConfig config = testing::test_database_config();
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
  config::DatabaseConfig config = testing::test_database_config();
  config.unix_socket = "/nonexistent/authfcgi-test.sock";
  MysqlConnection unreachable(config);
  EXPECT_THROW((void)MysqlUserRepository(unreachable).list(), domain::StorageUnavailable);
}

TEST_F(MysqlConnectionTest, WrongPasswordIsStorageUnavailableWithoutThePassword) {
  config::DatabaseConfig config = testing::test_database_config();
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

TEST_F(MysqlConnectionTest, SqlErrorIsStorageUnavailableAndConnectionRecovers) {
  EXPECT_THROW(connection_.execute("SELECT * FROM no_such_table"), domain::StorageUnavailable);
  MysqlUserRepository users(connection_);
  users.add("alice@example.com", "alice", "h");
  EXPECT_EQ(users.list().size(), 1U);
}

}  // namespace
}  // namespace authfcgi::storage
