#include "db/db_test_support.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <stdexcept>
#include <vector>

#include "storage/cppconn.h"
#include "storage/migrator.h"

namespace authfcgi::testing {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

std::vector<std::string> table_names(storage::MysqlConnection& connection) {
  std::vector<std::string> names;
  connection.with_statement(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
      [&](sql::PreparedStatement& statement) {
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        while (rows->next()) {
          names.push_back(rows->getString(1));
        }
      });
  return names;
}

// Every test binary run starts from a freshly created database with every migration applied.
class FreshDatabaseEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    storage::DatabaseSettings config;
    try {
      config = test_database_config();
    } catch (const std::exception& error) {
      FAIL() << error.what();
    }
    // DDL cannot take the database name as a parameter; test_database_config() allows only
    // [A-Za-z0-9_] names, so quoting it with backticks is safe.
    storage::DatabaseSettings server = config;
    server.name = "information_schema";
    storage::MysqlConnection admin(server);
    admin.execute("DROP DATABASE IF EXISTS `" + config.name + "`");
    admin.execute("CREATE DATABASE `" + config.name +
                  "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");

    storage::MysqlConnection connection(config);
    storage::Migrator migrator(connection, test_sql_dir());
    const auto applied = migrator.migrate();
    ASSERT_FALSE(applied.empty()) << "no migration files in " << test_sql_dir();
  }
};

// gtest owns and deletes the environment; registering it from a static initializer is the
// documented way when main() comes from gmock_main.
[[maybe_unused]] ::testing::Environment* const kFreshDatabase =
    ::testing::AddGlobalTestEnvironment(std::make_unique<FreshDatabaseEnvironment>().release());

}  // namespace

storage::DatabaseSettings test_database_config() {
  std::string missing;
  const auto require = [&](const char* name) {
    auto value = env(name);
    if (!value) {
      missing += std::string(missing.empty() ? "" : ", ") + name;
      return std::string();
    }
    return *value;
  };
  storage::DatabaseSettings config;
  const auto socket = env("AUTHFCGI_TEST_DB_SOCKET");
  if (socket && !socket->empty()) {
    config.unix_socket = *socket;
  } else {
    config.host = require("AUTHFCGI_TEST_DB_HOST");
    const auto port = require("AUTHFCGI_TEST_DB_PORT");
    if (!port.empty()) {
      config.port = static_cast<unsigned>(std::stoul(port));
    }
  }
  config.user = require("AUTHFCGI_TEST_DB_USER");
  config.password = require("AUTHFCGI_TEST_DB_PASSWORD");
  config.name = require("AUTHFCGI_TEST_DB_NAME");
  if (!missing.empty()) {
    throw std::runtime_error(
        "the database tests need AUTHFCGI_TEST_DB_SOCKET (or AUTHFCGI_TEST_DB_HOST and "
        "AUTHFCGI_TEST_DB_PORT), AUTHFCGI_TEST_DB_USER, AUTHFCGI_TEST_DB_PASSWORD and "
        "AUTHFCGI_TEST_DB_NAME; missing: " +
        missing + ". Run them through scripts/test.");
  }
  // The tests drop and recreate this database: refuse names that could be a real one.
  if (!std::regex_match(config.name, std::regex("[A-Za-z0-9_]*test[A-Za-z0-9_]*"))) {
    throw std::runtime_error(
        "AUTHFCGI_TEST_DB_NAME must contain 'test' and only [A-Za-z0-9_]: "
        "the tests drop and recreate that database");
  }
  return config;
}

std::string test_sql_dir() { return AUTHFCGI_SOURCE_DIR "/sql"; }

void delete_all_rows(storage::MysqlConnection& connection) {
  for (const auto& table : table_names(connection)) {
    if (table != "schema_version") {
      connection.execute("DELETE FROM `" + table + "`");
    }
  }
}

void drop_all_tables(storage::MysqlConnection& connection) {
  connection.execute("SET FOREIGN_KEY_CHECKS = 0");
  for (const auto& table : table_names(connection)) {
    connection.execute("DROP TABLE `" + table + "`");
  }
  connection.execute("SET FOREIGN_KEY_CHECKS = 1");
}

int highest_migration_file_version() {
  int highest = 0;
  const std::regex pattern("([0-9]+)_.*\\.sql");
  for (const auto& entry : std::filesystem::directory_iterator(test_sql_dir())) {
    std::smatch match;
    const auto name = entry.path().filename().string();
    if (std::regex_match(name, match, pattern)) {
      highest = std::max(highest, std::stoi(match[1].str()));
    }
  }
  return highest;
}

}  // namespace authfcgi::testing
