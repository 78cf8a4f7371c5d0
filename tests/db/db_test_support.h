#pragma once

#include <gtest/gtest.h>

#include <string>

#include "storage/database_settings.h"
#include "storage/mysql_connection.h"

namespace authfcgi::testing {

// The test database from AUTHFCGI_TEST_DB_* (see db_test_support.cpp). Throws std::runtime_error
// naming the missing variables: the DB tests fail, never skip, without a database.
storage::DatabaseSettings test_database_config();

// The migrations the tests apply, from the source tree.
std::string test_sql_dir();

// Deletes every row (schema unchanged), so each test starts from empty tables.
void delete_all_rows(storage::MysqlConnection& connection);

// Drops every table of the test database, schema_version included.
void drop_all_tables(storage::MysqlConnection& connection);

// The highest NNN of sql/NNN_*.sql, read independently of the Migrator.
int highest_migration_file_version();

// A fixture with one connection to the test database and empty tables.
class DbTest : public ::testing::Test {
 protected:
  DbTest() : connection_(test_database_config()) {}
  void SetUp() override { delete_all_rows(connection_); }

  storage::MysqlConnection connection_;
};

}  // namespace authfcgi::testing
