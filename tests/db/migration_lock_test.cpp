// The migration lock: the named lock (plain servers) and the lock row (Galera). Both methods are
// forced here, so both are checked against the plain MariaDB of scripts/test; the Galera
// suite (tests/galera) runs these tests against a Galera node too (AUTHFCGI_TEST_DB_GALERA=1).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "db/db_test_support.h"
#include "domain/errors.h"
#include "storage/cppconn.h"
#include "storage/migrator.h"

namespace authfcgi::storage {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr const char* kForeignHolder = "otherhost pid 4242";

int query_int(MysqlConnection& connection, const std::string& sql_text) {
  int value = -1;
  connection.with_statement(sql_text, [&](sql::PreparedStatement& statement) {
    const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
    value = rows->next() ? rows->getInt(1) : -1;
  });
  return value;
}

int lock_rows(MysqlConnection& connection) {
  return query_int(connection, "SELECT COUNT(*) FROM schema_migration_lock");
}

std::vector<int> file_versions() {
  std::vector<int> versions;
  for (int v = 1; v <= testing::highest_migration_file_version(); ++v) {
    versions.push_back(v);
  }
  return versions;
}

MigratorOptions forced(MigrationLockMethod method, std::chrono::milliseconds wait) {
  return MigratorOptions{.lock_method = method, .lock_wait = wait};
}

// A directory of migration files that is removed again at the end of the test.
class ScratchSqlDir {
 public:
  ScratchSqlDir()
      : path_(std::filesystem::temp_directory_path() /
              ("authfcgi-lock-test-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchSqlDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchSqlDir(const ScratchSqlDir&) = delete;
  ScratchSqlDir& operator=(const ScratchSqlDir&) = delete;

  void write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name) << text;
  }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

class MigrationLockTest : public testing::DbTest {
 protected:
  void SetUp() override { testing::drop_all_tables(connection_); }
  // Leave the schema fully migrated (and no lock row) for the other DB tests.
  void TearDown() override {
    testing::drop_all_tables(connection_);
    Migrator(connection_, testing::test_sql_dir()).migrate();
  }

  // The lock table exists (a lock-table migration of an empty directory creates it) and holds
  // a row of another host that took it two hours ago and never came back.
  void plant_stale_lock_row() {
    const ScratchSqlDir empty;
    Migrator(connection_, empty.path(), forced(MigrationLockMethod::lock_table, 1s)).migrate();
    connection_.execute(
        "INSERT INTO schema_migration_lock (id, holder, token, acquired_at) VALUES "
        "(1, '" +
        std::string(kForeignHolder) +
        "', 'feedfacefeedfacefeedfacefeedface', UTC_TIMESTAMP() - INTERVAL 2 HOUR)");
  }
};

TEST_F(MigrationLockTest, LockTableKeepsThreeConcurrentMigratorsApartAndIsReleased) {
  const auto run = [] {
    MysqlConnection connection(testing::test_database_config());
    return Migrator(connection, testing::test_sql_dir(),
                    forced(MigrationLockMethod::lock_table, 20s))
        .migrate();
  };
  auto first = std::async(std::launch::async, run);
  auto second = std::async(std::launch::async, run);
  auto third = std::async(std::launch::async, run);
  std::vector<int> applied;
  for (auto* result : {&first, &second, &third}) {
    const auto versions = result->get();
    applied.insert(applied.end(), versions.begin(), versions.end());
  }
  std::sort(applied.begin(), applied.end());
  EXPECT_EQ(applied, file_versions());
  EXPECT_EQ(query_int(connection_, "SELECT COUNT(*) FROM schema_version"),
            static_cast<int>(file_versions().size()));
  EXPECT_EQ(lock_rows(connection_), 0);
}

TEST_F(MigrationLockTest, LockRowIsReleasedWhenAMigrationFailsAndTheRerunCompletes) {
  ScratchSqlDir dir;
  dir.write("001_good.sql", "CREATE TABLE IF NOT EXISTS probe (id INT PRIMARY KEY);\n");
  dir.write("002_bad.sql", "CREATE TABLE IF NOT EXISTS probe2 (id INT PRIMARY KEY);\nSELEC 1;\n");
  const auto options = forced(MigrationLockMethod::lock_table, 2s);

  EXPECT_THROW(Migrator(connection_, dir.path(), options).migrate(), domain::StorageUnavailable);
  EXPECT_EQ(lock_rows(connection_), 0) << "a failed migration must not leave the lock behind";
  EXPECT_EQ(Migrator(connection_, dir.path(), options).current_version(), 1);

  dir.write("002_bad.sql", "CREATE TABLE IF NOT EXISTS probe2 (id INT PRIMARY KEY);\n");
  EXPECT_EQ(Migrator(connection_, dir.path(), options).migrate(), (std::vector<int>{2}));
  EXPECT_EQ(lock_rows(connection_), 0);
}

TEST_F(MigrationLockTest, StaleLockRowStopsMigrationNamingHolderTableAndTheFix) {
  plant_stale_lock_row();
  Migrator migrator(connection_, testing::test_sql_dir(),
                    forced(MigrationLockMethod::lock_table, 1500ms));

  const auto started = std::chrono::steady_clock::now();
  std::string message;
  try {
    migrator.migrate();
    ADD_FAILURE() << "migrate() ran although another host holds the lock";
  } catch (const MigrationLockHeld& error) {
    message = error.what();
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 1400ms) << "gave up before the configured wait";
  EXPECT_LT(waited, 10s) << "the wait must be bounded";
  EXPECT_THAT(message, HasSubstr(kForeignHolder));
  EXPECT_THAT(message, HasSubstr("in table schema_migration_lock"));
  EXPECT_THAT(message, HasSubstr("s ago"));
  EXPECT_THAT(message, HasSubstr("DELETE FROM schema_migration_lock WHERE id = 1;"));
  // Nothing was applied, and the other host's row is untouched.
  EXPECT_EQ(migrator.current_version(), 0);
  EXPECT_EQ(query_int(connection_,
                      "SELECT COUNT(*) FROM schema_migration_lock WHERE holder = 'otherhost pid "
                      "4242'"),
            1);

  // The fix the message gives works.
  connection_.execute("DELETE FROM schema_migration_lock WHERE id = 1;");
  EXPECT_EQ(migrator.migrate(), file_versions());
  EXPECT_EQ(lock_rows(connection_), 0);
}

TEST_F(MigrationLockTest, LockTableWaitsForTheHolderThenMigrates) {
  plant_stale_lock_row();
  auto waiting = std::async(std::launch::async, [] {
    MysqlConnection connection(testing::test_database_config());
    return Migrator(connection, testing::test_sql_dir(),
                    forced(MigrationLockMethod::lock_table, 20s))
        .migrate();
  });
  EXPECT_EQ(waiting.wait_for(1500ms), std::future_status::timeout)
      << "migrated while another holder had the lock";
  EXPECT_EQ(Migrator(connection_, testing::test_sql_dir()).current_version(), 0);

  connection_.execute("DELETE FROM schema_migration_lock WHERE id = 1");
  ASSERT_EQ(waiting.wait_for(15s), std::future_status::ready);
  EXPECT_EQ(waiting.get(), file_versions());
}

TEST_F(MigrationLockTest, NamedLockHeldElsewhereStopsMigrationUntilItsConnectionCloses) {
  Migrator migrator(connection_, testing::test_sql_dir(),
                    forced(MigrationLockMethod::named_lock, 1s));
  {
    MysqlConnection other(testing::test_database_config());
    ASSERT_EQ(query_int(other, "SELECT GET_LOCK('authfcgi_migrate', 0)"), 1);
    try {
      migrator.migrate();
      ADD_FAILURE() << "migrate() ran although another connection holds the named lock";
    } catch (const MigrationLockHeld& error) {
      EXPECT_THAT(error.what(), HasSubstr("named lock authfcgi_migrate"));
    }
    EXPECT_EQ(migrator.current_version(), 0);
  }
  // The holder's connection is gone (as when authctl is killed): the server freed the lock.
  EXPECT_EQ(migrator.migrate(), file_versions());
  EXPECT_EQ(query_int(connection_, "SELECT IS_FREE_LOCK('authfcgi_migrate')"), 1)
      << "migrate() must release the named lock";
}

// scripts/test runs the DB tests on a plain MariaDB; the Galera suite (tests/galera) sets
// AUTHFCGI_TEST_DB_GALERA=1 and runs them on a cluster node.
TEST_F(MigrationLockTest, AutomaticLockIsTheLockRowOnGaleraAndTheNamedLockElsewhere) {
  const char* galera_env = std::getenv("AUTHFCGI_TEST_DB_GALERA");
  const bool galera = galera_env != nullptr && std::string(galera_env) == "1";
  ASSERT_EQ(is_galera_node(connection_), galera);

  // Both kinds of lock are held by "someone else": the automatic choice waits for one of them.
  plant_stale_lock_row();
  MysqlConnection other(testing::test_database_config());
  ASSERT_EQ(query_int(other, "SELECT GET_LOCK('authfcgi_migrate', 0)"), 1);
  Migrator automatic(connection_, testing::test_sql_dir(),
                     forced(MigrationLockMethod::automatic, 1s));
  EXPECT_THROW(automatic.migrate(), MigrationLockHeld);
  EXPECT_EQ(automatic.current_version(), 0);

  // Free only the lock this kind of server relies on; the other one, still held, must not
  // matter. On Galera a named lock is local to one node, so it must not be what keeps
  // migrators apart; on a plain server a row left from a forced lock-table run does not block.
  if (galera) {
    connection_.execute("DELETE FROM schema_migration_lock WHERE id = 1");
  } else {
    EXPECT_EQ(query_int(other, "SELECT RELEASE_LOCK('authfcgi_migrate')"), 1);
  }
  EXPECT_EQ(automatic.migrate(), file_versions());
}

}  // namespace
}  // namespace authfcgi::storage
