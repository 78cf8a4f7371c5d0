#include "storage/migrator.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "domain/errors.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr const char* kLockName = "authfcgi_migrate";
// The connection's read timeout is 5 s, so one GET_LOCK must wait less than that; we poll in
// short waits until the overall deadline instead of one 30 s wait.
constexpr int kLockPollSeconds = 2;
constexpr auto kLockDeadline = std::chrono::seconds(30);

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

// Holds the server-side named lock so two migrators (two hosts, two deploys) never interleave.
// The server also frees it when the connection dies, so a crash cannot leave it held.
class MigrationLock {
 public:
  explicit MigrationLock(MysqlConnection& connection) : connection_(connection) {
    const auto deadline = std::chrono::steady_clock::now() + kLockDeadline;
    while (!try_acquire()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw domain::StorageUnavailable("another migration holds the lock " +
                                         std::string(kLockName));
      }
    }
  }
  ~MigrationLock() {
    try {
      connection_.with_statement("SELECT RELEASE_LOCK(?)", [](sql::PreparedStatement& statement) {
        statement.setString(1, kLockName);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
      });
    } catch (const std::exception&) {
      // Nothing to do: if the connection is gone, the server has released the lock already.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  bool try_acquire() {
    bool acquired = false;
    connection_.with_statement("SELECT GET_LOCK(?, ?)", [&](sql::PreparedStatement& statement) {
      statement.setString(1, kLockName);
      statement.setInt(2, kLockPollSeconds);
      const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
      acquired = rows->next() && !rows->isNull(1) && rows->getInt(1) == 1;
    });
    return acquired;
  }

  MysqlConnection& connection_;
};

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

Migrator::Migrator(MysqlConnection& connection, std::string sql_dir)
    : connection_(connection), sql_dir_(std::move(sql_dir)) {}

std::vector<int> Migrator::migrate() {
  // Read the files first: a wrong directory should fail before touching the database.
  const auto files = migration_files(sql_dir_);
  const MigrationLock lock(connection_);
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
