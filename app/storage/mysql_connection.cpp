#include "storage/mysql_connection.h"

#include <openssl/crypto.h>

#include <chrono>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "domain/errors.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr int kErrDuplicateKey = 1062;
// InnoDB refused a lock: a deadlock (the whole transaction was rolled back) or a lock wait
// timeout (only the statement was). The connection is fine.
constexpr int kErrLockWaitTimeout = 1205;
constexpr int kErrDeadlock = 1213;
// libmariadb reports CR_SERVER_GONE_ERROR only when it could not send a command: the
// connection was already closed on its side, or writing the command failed (a server that
// closed the connection; a read that fails is CR_SERVER_LOST, 2013, instead). The server has
// not seen the statement, so it can be sent again on a fresh connection without running twice.
constexpr int kErrServerGone = 2006;
constexpr int kConnectTimeoutSeconds = 2;
// Short socket timeouts: a hung server must turn into a 503 quickly, not a stuck worker.
constexpr int kReadTimeoutSeconds = 5;
constexpr int kWriteTimeoutSeconds = 5;
constexpr int kLockWaitTimeoutSeconds = 3;
// A connection unused for longer than this is pinged before its next statement. The server may
// have closed it meanwhile (a restart, a failover, wait_timeout after a quiet night, KILL), and
// over TCP its next statement would then fail as CR_SERVER_LOST, after which nobody can tell
// whether the statement ran. A ping costs one round trip, and only a thread that had no
// statement for a second pays it; a busy thread never does.
constexpr auto kCheckAfterIdle = std::chrono::seconds(1);

using Clock = std::chrono::steady_clock;

// Connector/C++ 1.1 keeps its driver in an unguarded static map, so two threads calling
// get_driver_instance() at once may race. A function-local static is initialised exactly once
// under the C++ runtime's lock; the driver itself is the library's singleton, not our state.
sql::mysql::MySQL_Driver& driver() {
  static sql::mysql::MySQL_Driver* const instance = sql::mysql::get_mysql_driver_instance();
  return *instance;
}

// "Duplicate entry 'x' for key 'uq_users_email'" -> "uq_users_email". The value is left out on
// purpose: it may be an email, and exception texts end up in logs.
std::string duplicate_key_name(std::string_view message) {
  constexpr std::string_view kMarker = "for key '";
  const auto start = message.rfind(kMarker);
  if (start == std::string_view::npos) {
    return "unknown";
  }
  const auto name_start = start + kMarker.size();
  const auto end = message.find('\'', name_start);
  if (end == std::string_view::npos) {
    return "unknown";
  }
  return std::string(message.substr(name_start, end - name_start));
}

}  // namespace

void prepare_client_library() {
  // OpenSSL runs each part of its set-up once per process: whoever asks first decides, so
  // libmariadb's own request (with the configuration and strings) comes too late to load them.
  // Nor the legacy table of every cipher's and digest's name: the SHA-1 libmariadb asks for is
  // fetched from OpenSSL's provider without it.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
                          OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
                      nullptr);
  static_cast<void>(driver());
}

struct MysqlConnection::Impl {
  explicit Impl(DatabaseSettings database_settings) : config(std::move(database_settings)) {}

  DatabaseSettings config;
  // Declared before the statements so that it is destroyed after them.
  std::unique_ptr<sql::Connection> connection;
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> statements;
  // When the last statement ended: the idle time that decides whether to ping first.
  Clock::time_point last_used;
  // Counts the connections made, so a SessionGuard can tell that its session was replaced.
  std::uint64_t generation = 0;
  int session_guards = 0;
  std::uint64_t guarded_generation = 0;

  sql::Connection& connected() {
    if (!connection) {
      sql::ConnectOptionsMap options;
      if (!config.unix_socket.empty()) {
        options["hostName"] = sql::SQLString("unix://" + config.unix_socket);
      } else {
        options["hostName"] =
            sql::SQLString("tcp://" + config.host + ":" + std::to_string(config.port));
      }
      options["userName"] = sql::SQLString(config.user);
      options["password"] = sql::SQLString(config.password);
      options["schema"] = sql::SQLString(config.name);
      // We reconnect ourselves, and only between statements: a silent reconnect in the driver
      // would lose session state (named locks) and invalidate cached statements behind our back.
      options["OPT_RECONNECT"] = false;
      options["OPT_CONNECT_TIMEOUT"] = kConnectTimeoutSeconds;
      options["OPT_READ_TIMEOUT"] = kReadTimeoutSeconds;
      options["OPT_WRITE_TIMEOUT"] = kWriteTimeoutSeconds;
      options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
      std::unique_ptr<sql::Connection> fresh(driver().connect(options));
      // A row lock waited for longer than the read timeout would look like a lost server;
      // shorter, it is a LockConflict the caller can handle. A user's groups come back as one
      // GROUP_CONCAT, which MySQL would cut at 1024 bytes by default.
      const std::unique_ptr<sql::Statement> setup(fresh->createStatement());
      std::string settings = "SET SESSION innodb_lock_wait_timeout = ";
      settings += std::to_string(kLockWaitTimeoutSeconds);
      settings += ", group_concat_max_len = 1048576";
      setup->execute(settings);
      connection = std::move(fresh);
      ++generation;
    }
    return *connection;
  }

  sql::PreparedStatement& statement(const std::string& sql_text) {
    auto found = statements.find(sql_text);
    if (found != statements.end()) {
      return *found->second;
    }
    std::unique_ptr<sql::PreparedStatement> prepared(connected().prepareStatement(sql_text));
    return *statements.emplace(sql_text, std::move(prepared)).first->second;
  }

  void drop() noexcept {
    statements.clear();
    connection.reset();
  }

  // Replaces a connection that died while idle before any statement is sent on it, so the
  // statement runs once, on the fresh connection, and nobody sees an error. If the server is
  // really down, the reconnect fails and the caller gets StorageUnavailable as before.
  void drop_if_dead_after_idle() {
    if (!connection || Clock::now() - last_used < kCheckAfterIdle) {
      return;
    }
    bool alive = false;
    try {
      alive = connection->isValid();
    } catch (const sql::SQLException&) {
      // A failed ping is a dead connection, not an error for the caller.
    }
    if (!alive) {
      drop();
    }
  }

  // Under a SessionGuard a fresh connection would run the statement without the session state
  // an earlier statement established (a named lock), so that is an error, never a reconnect.
  void require_guarded_session() const {
    if (!connection || generation != guarded_generation) {
      throw domain::StorageUnavailable(
          "database connection lost while a statement depended on its session");
    }
  }

  // Runs work, translating the driver's exceptions into ours. Any error other than a duplicate
  // key drops the connection: the error may have left it dead or mid-result, and a fresh
  // connection on the next call is cheap compared with guessing. A connection that turns out
  // dead before the statement reached the server is replaced at once (outside a SessionGuard),
  // so a database restart or a connection closed while idle costs the caller nothing.
  template <typename Work>
  void guarded(Work&& work) {
    for (int attempt = 1;; ++attempt) {
      const bool keep_session = session_guards > 0;
      try {
        if (keep_session) {
          require_guarded_session();
        } else {
          drop_if_dead_after_idle();
        }
        work();
        last_used = Clock::now();
        return;
      } catch (const sql::SQLException& error) {
        const int code = error.getErrorCode();
        if (code == kErrDuplicateKey) {
          last_used = Clock::now();
          throw domain::DuplicateKey("duplicate key: " + duplicate_key_name(error.what()));
        }
        if (code == kErrDeadlock || code == kErrLockWaitTimeout) {
          last_used = Clock::now();
          throw LockConflict("database lock conflict " + std::to_string(code));
        }
        drop();
        if (code == kErrServerGone && attempt == 1 && !keep_session) {
          continue;  // not sent: once more on a fresh connection
        }
        // The driver's messages name the host and user, never the password.
        throw domain::StorageUnavailable("database error " + std::to_string(code) + " (" +
                                         error.getSQLState() + "): " + error.what());
      }
    }
  }
};

MysqlConnection::MysqlConnection(DatabaseSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}

MysqlConnection::~MysqlConnection() = default;

void MysqlConnection::with_statement(const std::string& sql_text,
                                     const std::function<void(sql::PreparedStatement&)>& work) {
  impl_->guarded([&] { work(impl_->statement(sql_text)); });
}

MysqlConnection::SessionGuard::SessionGuard(MysqlConnection& connection) : connection_(connection) {
  Impl& impl = *connection_.impl_;
  if (impl.session_guards++ == 0) {
    // Without a connection there is no session to keep: the next statement fails.
    impl.guarded_generation = impl.generation;
  }
}

MysqlConnection::SessionGuard::~SessionGuard() { --connection_.impl_->session_guards; }

MysqlConnection::Transaction::Transaction(MysqlConnection& connection) : connection_(connection) {
  // Started before the guard: this statement may still reconnect; those after it may not.
  connection_.execute("START TRANSACTION");
  session_.emplace(connection_);
}

void MysqlConnection::Transaction::commit() {
  connection_.execute("COMMIT");
  open_ = false;
}

MysqlConnection::Transaction::~Transaction() {
  if (!open_) {
    return;
  }
  try {
    connection_.execute("ROLLBACK");
  } catch (const std::exception&) {
    // A connection that failed has been dropped, and the server rolled back with it.
  }
}

void MysqlConnection::execute(const std::string& sql_text) {
  impl_->guarded([&] {
    const std::unique_ptr<sql::Statement> statement(impl_->connected().createStatement());
    statement->execute(sql_text);
  });
}

}  // namespace authfcgi::storage
