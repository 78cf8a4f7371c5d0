#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// The table that holds the migration lock where the server's named locks cannot (Galera).
inline constexpr const char* kMigrationLockTable = "schema_migration_lock";

// How migrate() keeps two migrators (two hosts, two deploys) from interleaving.
enum class MigrationLockMethod {
  // The lock table on a Galera node (wsrep_on), the named lock on any other server.
  automatic,
  // SELECT GET_LOCK: the server frees it when the migrator's connection dies, so it can never
  // go stale; but on Galera it is local to one node (or refused, depending on the version).
  named_lock,
  // One row in schema_migration_lock, inserted in its own transaction: replicated and
  // certified by Galera, so two nodes cannot both hold it. Left behind if the migrator is
  // killed; the timeout message says who held it and how to clear it.
  lock_table,
};

struct MigratorOptions {
  MigrationLockMethod lock_method = MigrationLockMethod::automatic;
  // How long migrate() waits for another migration to finish before it gives up.
  std::chrono::milliseconds lock_wait = std::chrono::seconds(30);
};

// Another migration held the lock for all of MigratorOptions::lock_wait. The message names the
// holder and, for the lock table, how to clear a stale lock.
class MigrationLockHeld : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True when the server is a Galera cluster node (wsrep_on is ON). Servers without the variable
// (no Galera support compiled in) are not.
[[nodiscard]] bool is_galera_node(MysqlConnection& connection);

// Applies sql/NNN_name.sql files in numeric order, each once, recording the version in
// schema_version. Safe to run twice and from two hosts at once, on one server or on several
// Galera nodes (see MigrationLockMethod).
class Migrator {
 public:
  Migrator(MysqlConnection& connection, std::string sql_dir, MigratorOptions options = {});
  // Returns the versions applied by this call (empty when up to date). Throws
  // MigrationLockHeld when another migration keeps the lock too long, and std::runtime_error
  // on a Galera node whose DDL would not replicate (wsrep_OSU_method other than TOI).
  std::vector<int> migrate();
  [[nodiscard]] int current_version();

 private:
  MysqlConnection& connection_;
  std::string sql_dir_;
  MigratorOptions options_;
};

}  // namespace authfcgi::storage
