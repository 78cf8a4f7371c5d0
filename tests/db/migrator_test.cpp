#include "storage/migrator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>

#include "db/db_test_support.h"
#include "domain/errors.h"
#include "storage/cppconn.h"
#include "storage/mysql_user_repository.h"

namespace authfcgi::storage {
namespace {

using ::testing::IsEmpty;

std::vector<int> every_file_version() {
  std::vector<int> versions;
  for (const auto& entry : std::filesystem::directory_iterator(testing::test_sql_dir())) {
    const auto name = entry.path().filename().string();
    if (name.ends_with(".sql") && name.find('_') != std::string::npos) {
      versions.push_back(std::stoi(name.substr(0, name.find('_'))));
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

class MigratorTest : public testing::DbTest {
 protected:
  // Each case leaves the schema fully migrated, so the other DB tests do not depend on order.
  void SetUp() override { testing::drop_all_tables(connection_); }
  void TearDown() override { Migrator(connection_, testing::test_sql_dir()).migrate(); }
};

TEST_F(MigratorTest, FreshDatabaseGetsEveryFileInOrderThenNothing) {
  Migrator migrator(connection_, testing::test_sql_dir());
  EXPECT_EQ(migrator.current_version(), 0);

  EXPECT_EQ(migrator.migrate(), every_file_version());
  EXPECT_EQ(migrator.current_version(), testing::highest_migration_file_version());

  EXPECT_THAT(migrator.migrate(), IsEmpty());
  EXPECT_EQ(migrator.current_version(), testing::highest_migration_file_version());
}

TEST_F(MigratorTest, MigratedSchemaIsUsableAndSecondRunKeepsData) {
  Migrator migrator(connection_, testing::test_sql_dir());
  migrator.migrate();
  MysqlUserRepository users(connection_);
  users.add("alice@example.com", "alice", "h");
  EXPECT_THAT(migrator.migrate(), IsEmpty());
  EXPECT_TRUE(users.find_by_email("alice@example.com").has_value());
}

TEST_F(MigratorTest, TwoMigratorsAtOnceApplyEachFileOnce) {
  const auto run = [] {
    MysqlConnection connection(testing::test_database_config());
    return Migrator(connection, testing::test_sql_dir()).migrate();
  };
  auto first = std::async(std::launch::async, run);
  auto second = std::async(std::launch::async, run);
  auto applied = first.get();
  const auto other = second.get();
  applied.insert(applied.end(), other.begin(), other.end());
  std::sort(applied.begin(), applied.end());
  EXPECT_EQ(applied, every_file_version());
}

TEST_F(MigratorTest, MissingDirectoryFailsWithoutTouchingTheDatabase) {
  Migrator migrator(connection_, testing::test_sql_dir() + "/does-not-exist");
  EXPECT_THROW(migrator.migrate(), std::runtime_error);
  EXPECT_EQ(migrator.current_version(), 0);
}

TEST_F(MigratorTest, MultiStatementFileWithCommentsIsSplitAndRecorded) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("authfcgi-migrator-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "001_probe.sql")
        << "-- a comment; with a semicolon inside\n"
           "CREATE TABLE probe (id INT PRIMARY KEY, note VARCHAR(20));\n"
           "\n"
           "-- only a comment here;\n"
           "INSERT INTO probe VALUES (1, 'a;b');\n"
           "INSERT INTO probe VALUES (2, 'c');\n";
    std::ofstream(dir / "README.txt") << "not a migration\n";
    std::ofstream(dir / "002_more.sql") << "INSERT INTO probe VALUES (3, 'd')";
  }
  Migrator migrator(connection_, dir.string());
  EXPECT_EQ(migrator.migrate(), (std::vector<int>{1, 2}));
  EXPECT_EQ(migrator.current_version(), 2);
  int rows = 0;
  connection_.with_statement(
      "SELECT COUNT(*) FROM probe WHERE note IN ('a;b', 'c', 'd')",
      [&](sql::PreparedStatement& statement) {
        const std::unique_ptr<sql::ResultSet> result(statement.executeQuery());
        rows = result->next() ? result->getInt(1) : -1;
      });
  EXPECT_EQ(rows, 3);
  std::filesystem::remove_all(dir);
  testing::drop_all_tables(connection_);
}

}  // namespace
}  // namespace authfcgi::storage
