#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "domain/errors.h"
#include "storage/database_settings.h"

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

// InnoDB refused a lock (deadlock or lock wait timeout). The connection stays usable; a caller
// that can, rolls back and tries again; to any other it is the database being unavailable.
class LockConflict : public domain::StorageUnavailable {
 public:
  using domain::StorageUnavailable::StorageUnavailable;
};

// One MySQL connection, used by one thread only (not thread-safe). It connects lazily and
// reconnects on the next use after a failure, so a database restart needs no worker restart.
// A connection that the server closed while it was unused (restart, failover, wait_timeout,
// KILL) is replaced before the statement that finds it dead reaches the server, so that
// statement succeeds, and runs once: the connection is pinged before a statement when it has
// been idle for a second, and a statement that could not be sent is sent again on a fresh
// connection. Prepared statements are cached per connection and prepared again after that.
class MysqlConnection {
 public:
  explicit MysqlConnection(DatabaseSettings settings);
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // Runs work with a prepared statement for sql (cached). Translates sql::SQLException into
  // domain::DuplicateKey (error 1062) or domain::StorageUnavailable, and drops the connection
  // on connection-level errors so the next call reconnects. work executes the statement once;
  // it is called a second time, with the statement prepared on a fresh connection, when the
  // first execution could not be sent to the server (it throws before anything reached it).
  void with_statement(const std::string& sql_text,
                      const std::function<void(sql::PreparedStatement&)>& work);

  // Runs a plain SQL statement (migrations, transaction control); same error translation and
  // retry.
  void execute(const std::string& sql_text);

  // For statements that rely on session state an earlier statement established (a named lock;
  // LAST_INSERT_ID() would be another): while a guard lives, this connection is never replaced
  // silently. If the session it was made on is gone, every statement throws StorageUnavailable.
  class SessionGuard {
   public:
    explicit SessionGuard(MysqlConnection& connection);
    ~SessionGuard();
    SessionGuard(const SessionGuard&) = delete;
    SessionGuard& operator=(const SessionGuard&) = delete;

   private:
    MysqlConnection& connection_;
  };

  // START TRANSACTION now, on a live connection that is then kept (a SessionGuard); ROLLBACK
  // on destruction unless committed. Statements in between throw LockConflict when InnoDB
  // refuses a lock.
  class Transaction {
   public:
    explicit Transaction(MysqlConnection& connection);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

   private:
    MysqlConnection& connection_;
    std::optional<SessionGuard> session_;
    bool open_ = true;
  };

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace authfcgi::storage
