#include "storage/migrator.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "domain/errors.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr const char* kLockName = "authfcgi_migrate";
constexpr int kLockPollSeconds = 2;

// "007_add_index.sql" -> 7; nullopt for any other name (editor backups, READMEs).
std::optional<int> version_of(const std::string& file_name) {
  const auto underscore = file_name.find('_');
  if (underscore == 0 || underscore == std::string::npos || underscore > 9 ||
      !file_name.ends_with(".sql")) {
    return std::nullopt;
  }
  int version = 0;
  for (std::size_t i = 0; i < underscore; ++i) {
    const char c = file_name[i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    version = version * 10 + (c - '0');
  }
  return version;
}

std::map<int, std::filesystem::path> migration_files(const std::string& sql_dir) {
  std::error_code error;
  std::filesystem::directory_iterator entries(sql_dir, error);
  if (error) {
    throw std::runtime_error("cannot read the migrations directory " + sql_dir + ": " +
                             error.message());
  }
  std::map<int, std::filesystem::path> files;
  for (const auto& entry : entries) {
    if (!entry.is_regular_file()) {
      continue;
    }
    const auto version = version_of(entry.path().filename().string());
    if (!version) {
      continue;
    }
    if (!files.emplace(*version, entry.path()).second) {
      throw std::runtime_error("two migration files have version " + std::to_string(*version) +
                               " in " + sql_dir);
    }
  }
  return files;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read migration file " + path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// True when a chunk holds nothing but whitespace and "--" comment lines.
bool is_blank_or_comment(const std::string& chunk) {
  std::istringstream lines(chunk);
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line.compare(first, 2, "--") != 0) {
      return false;
    }
  }
  return true;
}

// Statements end with ';' at the end of a line. Semicolons inside a line (string literals,
// comments) do not split, which is all our migration files need.
std::vector<std::string> split_statements(const std::string& script) {
  std::vector<std::string> statements;
  std::string current;
  std::istringstream lines(script);
  std::string line;
  while (std::getline(lines, line)) {
    current += line;
    current += '\n';
    const auto last = line.find_last_not_of(" \t\r");
    if (last != std::string::npos && line[last] == ';') {
      if (!is_blank_or_comment(current)) {
        statements.push_back(std::move(current));
      }
      current.clear();
    }
  }
  if (!is_blank_or_comment(current)) {
    statements.push_back(std::move(current));
  }
  return statements;
}

// The server's error codes that mean "somebody else got the lock row first": a duplicate key
// (the row is there), or on Galera a certification conflict or brute-force abort (both nodes
// inserted it at once; the other one won) and a lock wait that ran out.
constexpr int kErrDuplicateKey = 1062;
constexpr int kErrLockWaitTimeout = 1205;
constexpr int kErrDeadlock = 1213;
constexpr auto kLockRowPoll = std::chrono::milliseconds(500);

using Clock = std::chrono::steady_clock;

std::string seconds_text(std::chrono::milliseconds wait) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(wait).count()) + " s";
}

// Holds the server-side named lock. The server also frees it when the connection dies, so a
// crash cannot leave it held. Local to one node on Galera: used on plain servers only.
class NamedLock {
 public:
  NamedLock(MysqlConnection& connection, std::chrono::milliseconds wait) : connection_(connection) {
    const auto deadline = Clock::now() + wait;
    while (!try_acquire(deadline)) {
      if (Clock::now() >= deadline) {
        throw MigrationLockHeld(
            "another migration holds the lock (the server's named lock " + std::string(kLockName) +
            "; waited " + seconds_text(wait) +
            "). The server frees it when that migration ends or its connection closes: try "
            "again later.");
      }
    }
    // The lock lives in this session: a migration must stop rather than go on without it on
    // a fresh connection.
    session_.emplace(connection_);
  }
  ~NamedLock() {
    try {
      connection_.with_statement("SELECT RELEASE_LOCK(?)", [](sql::PreparedStatement& statement) {
        statement.setString(1, kLockName);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
      });
    } catch (const std::exception&) {
      // Nothing to do: if the connection is gone, the server has released the lock already.
    }
  }
  NamedLock(const NamedLock&) = delete;
  NamedLock& operator=(const NamedLock&) = delete;

 private:
  bool try_acquire(Clock::time_point deadline) {
    // The connection's read timeout is 5 s, so one GET_LOCK must wait less than that; we poll
    // in short waits until the deadline instead of one long wait.
    const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - Clock::now()).count();
    const int wait = static_cast<int>(std::clamp<long long>(left, 0, kLockPollSeconds));
    bool acquired = false;
    connection_.with_statement("SELECT GET_LOCK(?, ?)", [&](sql::PreparedStatement& statement) {
      statement.setString(1, kLockName);
      statement.setInt(2, wait);
      const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
      acquired = rows->next() && !rows->isNull(1) && rows->getInt(1) == 1;
    });
    return acquired;
  }

  MysqlConnection& connection_;
  std::optional<MysqlConnection::SessionGuard> session_;
};

// "web1 pid 1234": enough for an operator to find the process that holds a lock row.
std::string holder_name() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) {
    host = {};
  }
  const std::string name = host[0] != '\0' ? host.data() : "unknown-host";
  return name + " pid " + std::to_string(::getpid());
}

// Unique per acquisition, so the release deletes our row only, never one that an operator
// cleared as stale and another migrator then took.
std::string random_token() {
  std::random_device random;
  std::ostringstream token;
  for (int i = 0; i < 4; ++i) {
    token << std::hex << std::setw(8) << std::setfill('0') << random();
  }
  return token.str();
}

// Holds row id 1 of schema_migration_lock. The INSERT is its own (autocommit) transaction, so
// on Galera it is certified cluster-wide before it returns: of two nodes inserting at once,
// exactly one succeeds. Once it has committed, this node has also applied every write set
// ordered before it (Galera commits in total order), so the schema_version read afterwards
// sees whatever the previous holder applied on any node.
class LockRow {
 public:
  LockRow(MysqlConnection& connection, std::chrono::milliseconds wait)
      : connection_(connection), token_(random_token()) {
    connection_.execute(std::string("CREATE TABLE IF NOT EXISTS ") + kMigrationLockTable +
                        " ("
                        "id TINYINT UNSIGNED NOT NULL PRIMARY KEY, "
                        "holder VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, "
                        "token CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, "
                        "acquired_at DATETIME NOT NULL"
                        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    const auto deadline = Clock::now() + wait;
    while (!try_insert()) {
      const auto now = Clock::now();
      if (now >= deadline) {
        throw MigrationLockHeld(held_message(wait));
      }
      std::this_thread::sleep_for(std::min<Clock::duration>(kLockRowPoll, deadline - now));
    }
  }
  ~LockRow() {
    // A failed migration statement drops the connection; the next use reconnects, so a second
    // try covers that. If the database stays unreachable the row stays, and the next migrate
    // says how to clear it.
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        connection_.with_statement(
            std::string("DELETE FROM ") + kMigrationLockTable + " WHERE id = 1 AND token = ?",
            [&](sql::PreparedStatement& statement) {
              statement.setString(1, token_);
              statement.executeUpdate();
            });
        return;
      } catch (const std::exception&) {
        // Try once more on a fresh connection.
      }
    }
  }
  LockRow(const LockRow&) = delete;
  LockRow& operator=(const LockRow&) = delete;

 private:
  bool try_insert() {
    bool inserted = false;
    connection_.with_statement(
        std::string("INSERT INTO ") + kMigrationLockTable +
            " (id, holder, token, acquired_at) VALUES (1, ?, ?, UTC_TIMESTAMP())",
        [&](sql::PreparedStatement& statement) {
          statement.setString(1, holder_name());
          statement.setString(2, token_);
          try {
            statement.executeUpdate();
            inserted = true;
          } catch (const sql::SQLException& error) {
            const int code = error.getErrorCode();
            if (code != kErrDuplicateKey && code != kErrDeadlock && code != kErrLockWaitTimeout) {
              throw;
            }
          }
        });
    return inserted;
  }

  std::string held_message(std::chrono::milliseconds wait) {
    std::string holder = "a migration that released it just now";
    connection_.with_statement(
        std::string("SELECT holder, DATE_FORMAT(acquired_at, '%Y-%m-%d %H:%i:%s'), "
                    "TIMESTAMPDIFF(SECOND, acquired_at, UTC_TIMESTAMP()) FROM ") +
            kMigrationLockTable + " WHERE id = 1",
        [&](sql::PreparedStatement& statement) {
          const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
          if (rows->next()) {
            holder = rows->getString(1) + " (since " + rows->getString(2) + " UTC, " +
                     std::to_string(rows->getInt64(3)) + " s ago)";
          }
        });
    return "another migration holds the lock: " + holder + ", in table " + kMigrationLockTable +
           " (waited " + seconds_text(wait) +
           "). If that process is gone (killed during a migration), clear the lock with "
           "`DELETE FROM " +
           kMigrationLockTable +
           " WHERE id = 1;` and run authctl db migrate again: it completes a half-applied file.";
  }

  MysqlConnection& connection_;
  std::string token_;
};

// The value of a server variable, or "" when the server does not have it. SHOW never fails for
// an unknown variable (a SELECT @@name would).
std::string variable(MysqlConnection& connection, const std::string& show) {
  std::string value;
  connection.with_statement(show, [&](sql::PreparedStatement& statement) {
    const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
    if (rows->next()) {
      value = rows->getString(2);
    }
  });
  return value;
}

std::set<int> applied_versions(MysqlConnection& connection) {
  std::set<int> versions;
  connection.with_statement("SELECT version FROM schema_version",
                            [&](sql::PreparedStatement& statement) {
                              const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                              while (rows->next()) {
                                versions.insert(rows->getInt(1));
                              }
                            });
  return versions;
}

}  // namespace

bool is_galera_node(MysqlConnection& connection) {
  return variable(connection, "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'") == "ON";
}

Migrator::Migrator(MysqlConnection& connection, std::string sql_dir, MigratorOptions options)
    : connection_(connection), sql_dir_(std::move(sql_dir)), options_(options) {}

std::vector<int> Migrator::migrate() {
  // Read the files first: a wrong directory should fail before touching the database.
  const auto files = migration_files(sql_dir_);
  const bool galera = is_galera_node(connection_);
  if (galera) {
    // Under RSU a node applies DDL to itself only, while the schema_version rows replicate:
    // the other nodes would be recorded as migrated without the change.
    const auto osu = variable(connection_, "SHOW VARIABLES LIKE 'wsrep_OSU_method'");
    if (osu != "TOI") {
      throw std::runtime_error(
          "this Galera node runs DDL with wsrep_OSU_method = " + osu +
          ", which changes this node only; migrate with TOI (the default): SET GLOBAL "
          "wsrep_OSU_method = 'TOI', or remove the setting from the node's configuration");
    }
  }
  auto method = options_.lock_method;
  if (method == MigrationLockMethod::automatic) {
    method = galera ? MigrationLockMethod::lock_table : MigrationLockMethod::named_lock;
  }
  // Exactly one of them is engaged until the end of this function, on every path.
  std::optional<NamedLock> named_lock;
  std::optional<LockRow> lock_row;
  if (method == MigrationLockMethod::lock_table) {
    lock_row.emplace(connection_, options_.lock_wait);
  } else {
    named_lock.emplace(connection_, options_.lock_wait);
  }
  connection_.execute(
      "CREATE TABLE IF NOT EXISTS schema_version ("
      "version INT NOT NULL PRIMARY KEY, "
      "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  // Read under the lock, so a migrator that waited sees what the other one applied.
  const auto done = applied_versions(connection_);
  std::vector<int> applied;
  for (const auto& [version, path] : files) {
    if (done.contains(version)) {
      continue;
    }
    // MariaDB commits DDL implicitly, so a file is not atomic; the version is recorded only
    // after every statement of it succeeded, and files use IF NOT EXISTS so a rerun completes.
    for (const auto& statement : split_statements(read_file(path))) {
      connection_.execute(statement);
    }
    connection_.with_statement("INSERT INTO schema_version (version) VALUES (?)",
                               [&](sql::PreparedStatement& statement) {
                                 statement.setInt(1, version);
                                 statement.executeUpdate();
                               });
    applied.push_back(version);
  }
  return applied;
}

int Migrator::current_version() {
  // A database that was never migrated has no schema_version table: that is version 0, not an
  // error, and reading the version must not create tables.
  int version = 0;
  connection_.with_statement(
      "SELECT COUNT(*) FROM information_schema.tables "
      "WHERE table_schema = DATABASE() AND table_name = 'schema_version'",
      [&](sql::PreparedStatement& statement) {
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        version = rows->next() ? rows->getInt(1) : 0;
      });
  if (version == 0) {
    return 0;
  }
  connection_.with_statement("SELECT COALESCE(MAX(version), 0) FROM schema_version",
                             [&](sql::PreparedStatement& statement) {
                               const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                               version = rows->next() ? rows->getInt(1) : 0;
                             });
  return version;
}

}  // namespace authfcgi::storage
