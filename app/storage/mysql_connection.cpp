#include "storage/mysql_connection.h"

#include <openssl/crypto.h>

#include <string_view>
#include <unordered_map>
#include <utility>

#include "domain/errors.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr int kErrDuplicateKey = 1062;
constexpr int kConnectTimeoutSeconds = 2;
// Short socket timeouts: a hung server must turn into a 503 quickly, not a stuck worker.
constexpr int kReadTimeoutSeconds = 5;
constexpr int kWriteTimeoutSeconds = 5;

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
  explicit Impl(config::DatabaseConfig database_config) : config(std::move(database_config)) {}

  config::DatabaseConfig config;
  // Declared before the statements so that it is destroyed after them.
  std::unique_ptr<sql::Connection> connection;
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> statements;

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
      connection.reset(driver().connect(options));
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

  // Runs work, translating the driver's exceptions into ours. Any error other than a duplicate
  // key drops the connection: the error may have left it dead or mid-result, and a fresh
  // connection on the next call is cheap compared with guessing.
  template <typename Work>
  void guarded(Work&& work) {
    try {
      work();
    } catch (const sql::SQLException& error) {
      const int code = error.getErrorCode();
      if (code == kErrDuplicateKey) {
        throw domain::DuplicateKey("duplicate key: " + duplicate_key_name(error.what()));
      }
      drop();
      // The driver's messages name the host and user, never the password.
      throw domain::StorageUnavailable("database error " + std::to_string(code) + " (" +
                                       error.getSQLState() + "): " + error.what());
    }
  }
};

MysqlConnection::MysqlConnection(config::DatabaseConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}

MysqlConnection::~MysqlConnection() = default;

void MysqlConnection::with_statement(const std::string& sql_text,
                                     const std::function<void(sql::PreparedStatement&)>& work) {
  impl_->guarded([&] { work(impl_->statement(sql_text)); });
}

void MysqlConnection::execute(const std::string& sql_text) {
  impl_->guarded([&] {
    const std::unique_ptr<sql::Statement> statement(impl_->connected().createStatement());
    statement->execute(sql_text);
  });
}

}  // namespace authfcgi::storage
