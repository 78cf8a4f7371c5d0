#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.h"

namespace sql {
class Connection;
class PreparedStatement;
}  // namespace sql

namespace authfcgi::storage {

// Call once per process before any thread connects. It initialises OpenSSL without its
// configuration file, error strings and legacy algorithm-name tables, then the client library.
// OpenSSL is in the process only because libmariadb links it, for TLS and the SHA-1 of its
// password handshake; authfcgi sets no TLS option, so none of them is needed, and skipping them
// keeps about 1.6 MiB of OpenSSL pages out of every worker. It also runs the client library's
// non-thread-safe set-up on one thread.
void prepare_client_library();

// One MySQL connection, used by one thread only (not thread-safe). It connects lazily and
// reconnects on the next use after a failure, so a database restart needs no worker restart.
// Prepared statements are cached per connection and dropped on reconnect.
class MysqlConnection {
 public:
  explicit MysqlConnection(config::DatabaseConfig config);
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // Runs work with a prepared statement for sql (cached). Translates sql::SQLException into
  // domain::DuplicateKey (error 1062) or domain::StorageUnavailable, and drops the connection
  // on connection-level errors so the next call reconnects.
  void with_statement(const std::string& sql_text,
                      const std::function<void(sql::PreparedStatement&)>& work);

  // Runs a plain SQL script statement (migrations); same error translation.
  void execute(const std::string& sql_text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace authfcgi::storage
