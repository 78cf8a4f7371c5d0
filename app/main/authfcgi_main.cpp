// The worker's composition root: reads the configuration, builds the shared services once and
// one WorkerContext per thread, and runs the FastCGI server. No logic of its own.
#include <malloc.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_loader.h"
#include "crypto/bounded_password_hasher.h"
#include "crypto/key_ring.h"
#include "crypto/sodium_init.h"
#include "crypto/sodium_password_hasher.h"
#include "crypto/sodium_random_source.h"
#include "crypto/sodium_token_crypto.h"
#include "crypto/system_clock.h"
#include "crypto/zxcvbn_password_strength.h"
#include "domain/auth_service.h"
#include "domain/housekeeping.h"
#include "domain/mail_delivery.h"
#include "domain/pool_status.h"
#include "domain/self_service.h"
#include "fcgi/server.h"
#include "logging/stderr_event_sink.h"
#include "mail/curl_smtp_sender.h"
#include "mail/delivery_thread.h"
#include "storage/mysql_account_token_store.h"
#include "storage/mysql_connection.h"
#include "storage/mysql_login_throttle_store.h"
#include "storage/mysql_mail_outbox.h"
#include "storage/mysql_remember_token_store.h"
#include "storage/mysql_session_store.h"
#include "storage/mysql_user_repository.h"
#include "web/app.h"
#include "web/view/mail_renderer.h"
#include "web/view/renderer.h"

namespace {

using namespace authfcgi;

constexpr int kExitConfig = 2;
constexpr int kExitRuntime = 1;

constexpr std::string_view kUsage =
    "usage: authfcgi [--config PATH] [--socket PATH|HOST:PORT] [--threads N]\n"
    "                [--role responder|authorizer]\n"
    "\n"
    "A FastCGI worker. Without --socket (or `listen` in the configuration) it serves the\n"
    "listening socket on fd 0, as spawn-fcgi hands it over.\n"
    "  --config PATH   the configuration file (default: $AUTHFCGI_CONFIG)\n"
    "  --socket ADDR   listen on a unix socket path or HOST:PORT instead\n"
    "  --threads N     worker threads (default: `threads` in the configuration)\n"
    "  --role ROLE     the FastCGI requests this listener answers: responder (the site,\n"
    "                  default) or authorizer (Apache's mod_authnz_fcgi, on 127.0.0.1:PORT)\n"
    "SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.\n"
    "SIGHUP: reload the configuration file and the templates (a bad new configuration is\n"
    "refused and logged; the running one stays).\n";

struct Arguments {
  std::optional<std::string> config_path;
  std::optional<std::string> socket;
  std::optional<unsigned> threads;
  fcgi::FastcgiRole role = fcgi::FastcgiRole::Responder;
  bool help = false;
};

std::optional<unsigned> parse_threads(std::string_view text) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value == 0 || value > 1024) {
    return std::nullopt;
  }
  return value;
}

// Returns nullopt (after printing why) on a bad command line.
std::optional<Arguments> parse_arguments(const std::vector<std::string>& args) {
  Arguments parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string name(arg);
    std::optional<std::string> value;
    if (auto equals = arg.find('='); arg.starts_with("--") && equals != std::string_view::npos) {
      name = std::string(arg.substr(0, equals));
      value = std::string(arg.substr(equals + 1));
    }
    if (name == "--help" || name == "-h") {
      parsed.help = true;
      continue;
    }
    if (name != "--config" && name != "--socket" && name != "--threads" && name != "--role") {
      std::cerr << "authfcgi: unknown argument '" << arg << "'\n" << kUsage;
      return std::nullopt;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        std::cerr << "authfcgi: " << name << " needs a value\n";
        return std::nullopt;
      }
      value = args[++i];
    }
    if (name == "--config") {
      parsed.config_path = *value;
    } else if (name == "--socket") {
      parsed.socket = *value;
    } else if (name == "--role") {
      if (*value != "responder" && *value != "authorizer") {
        std::cerr << "authfcgi: --role is responder or authorizer\n";
        return std::nullopt;
      }
      parsed.role =
          *value == "authorizer" ? fcgi::FastcgiRole::Authorizer : fcgi::FastcgiRole::Responder;
    } else {
      parsed.threads = parse_threads(*value);
      if (!parsed.threads) {
        std::cerr << "authfcgi: --threads needs a number from 1 to 1024\n";
        return std::nullopt;
      }
    }
  }
  return parsed;
}

// One write per line, as the server's own lines.
void log_line(const std::string& text) {
  const std::string line = "authfcgi: " + text + "\n";
  std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
  std::cerr.flush();
}

// Services shared by every worker thread; all thread-safe and immutable after construction.
struct SharedServices {
  crypto::KeyRing keys;
  crypto::SodiumPasswordHasher argon2;
  crypto::BoundedPasswordHasher hasher;
  crypto::SodiumRandomSource random;
  crypto::SodiumTokenCrypto token_crypto;
  crypto::SystemClock clock;
  logging::StderrEventSink log;
  // The events go to the log through the pool's counters, when there are counters.
  std::optional<domain::CountingEventSink> counted;
  crypto::ZxcvbnPasswordStrength strength;
  std::string dummy_hash;

  SharedServices(const config::Config& config, domain::PoolMeter* meter)
      : keys(config.secret_key, std::vector<std::string_view>(config.previous_secret_keys.begin(),
                                                              config.previous_secret_keys.end())),
        argon2(config.pwhash.opslimit, config.pwhash.memlimit),
        hasher(argon2, config.pwhash.max_concurrent),
        token_crypto(keys, random),
        log(std::cerr, config.log_json ? logging::LogFormat::Json : logging::LogFormat::Text),
        dummy_hash(domain::make_dummy_hash(hasher)) {
    if (meter != nullptr) {
      counted.emplace(log, *meter);
    }
  }

  domain::AuthEventSink& events() {
    return counted ? static_cast<domain::AuthEventSink&>(*counted) : log;
  }
};

// Everything one reading of the configuration file makes. SIGHUP builds a new one; each thread
// moves to it before its next request and the old one goes when its last thread has moved.
struct Generation {
  config::Config config;
  SharedServices shared;
  // The templates are parsed (and the common pages prerendered) once, for every thread: a
  // broken template is a clear error at start or reload, not a worker that never serves.
  web::view::Renderer renderer;
  web::view::MailRenderer mail;

  Generation(config::Config loaded, domain::PoolMeter* meter)
      : config(std::move(loaded)),
        shared(config, meter),
        renderer(config.templates_dir, web::view::Renderer::Prerender::On,
                 config.registration_open),
        mail(config.templates_dir, config.public_url, config.mail.subject_prefix) {}
};

// The generation new work starts with. Read by every thread, replaced by the reload.
class CurrentGeneration {
 public:
  explicit CurrentGeneration(std::shared_ptr<Generation> first) : current_(std::move(first)) {}
  [[nodiscard]] std::shared_ptr<Generation> get() const {
    const std::lock_guard lock(mutex_);
    return current_;
  }
  void replace(std::shared_ptr<Generation> next) {
    const std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<Generation> current_;
};

// The pool's shared counters, when this process could attach to them.
struct PoolCounters {
  domain::PoolMeter* meter = nullptr;
  const domain::PoolStatusSource* status = nullptr;
};

// What one worker thread owns: its database connection and everything that uses it.
struct WorkerContext {
  std::shared_ptr<Generation> generation;  // first: everything below refers into it
  storage::MysqlConnection connection;
  storage::MysqlUserRepository users;
  storage::MysqlSessionStore sessions;
  storage::MysqlRememberTokenStore remember_tokens;
  storage::MysqlLoginThrottleStore throttle;
  storage::MysqlAccountTokenStore account_tokens;
  storage::MysqlMailOutbox outbox;
  storage::MysqlTransactions transactions;
  web::AccountServices accounts;
  web::App app;

  WorkerContext(std::shared_ptr<Generation> from, PoolCounters pool)
      : generation(std::move(from)),
        connection(generation->config.database),
        users(connection),
        sessions(connection),
        remember_tokens(connection),
        throttle(connection),
        account_tokens(connection),
        outbox(connection),
        transactions(connection),
        accounts{account_tokens,
                 outbox,
                 transactions,
                 generation->mail,
                 generation->shared.strength,
                 generation->config.registration_open},
        app(web::AppDependencies{
            users, sessions, remember_tokens, throttle, generation->shared.hasher,
            generation->shared.clock, generation->shared.token_crypto, generation->shared.random,
            generation->shared.events(), generation->shared.keys, generation->renderer,
            generation->config.session, generation->config.throttle, generation->shared.dummy_hash,
            &accounts, pool.meter, pool.status,
            web::StatusSettings{generation->config.status_enabled,
                                generation->config.status_allow}}) {}
};

constexpr std::size_t kMailsPerRound = 20;
constexpr std::int64_t kPruneEverySeconds = 60;
// A round's share of housekeeping: at most one batch (1000 rows) per table, so mail waits
// little behind a backlog; `authctl db prune` (hourly) runs it to the end.
constexpr int kPruneBatchesPerRound = 1;

// What the delivery thread owns: its own connection, the outbox on it, the SMTP client.
struct DeliveryContext {
  std::shared_ptr<Generation> generation;  // first: everything below refers into it
  storage::MysqlConnection connection;
  storage::MysqlMailOutbox outbox;
  storage::MysqlAccountTokenStore tokens;
  storage::MysqlUserRepository users;
  storage::MysqlSessionStore sessions;
  storage::MysqlRememberTokenStore remember_tokens;
  storage::MysqlLoginThrottleStore throttle_store;
  storage::MysqlTransactions transactions;
  domain::LoginThrottle throttle;
  domain::Accounts accounts;
  // Turns queued reset requests into reset mails, on this thread's connection.
  domain::SelfService self_service;
  mail::CurlSmtpSender sender;
  domain::MailDelivery delivery;
  domain::Housekeeping housekeeping;
  const domain::Clock& clock;
  std::int64_t last_prune = 0;

  explicit DeliveryContext(std::shared_ptr<Generation> from)
      : generation(std::move(from)),
        connection(generation->config.database),
        outbox(connection),
        tokens(connection),
        users(connection),
        sessions(connection),
        remember_tokens(connection),
        throttle_store(connection),
        transactions(connection),
        throttle(throttle_store, generation->shared.random, generation->shared.clock,
                 generation->config.throttle),
        accounts(users, sessions, remember_tokens, generation->shared.hasher),
        self_service(domain::SelfServiceDependencies{
            users, tokens, outbox, transactions, generation->mail, generation->shared.hasher,
            generation->shared.strength, generation->shared.token_crypto, generation->shared.clock,
            throttle, accounts, domain::SelfServiceSettings{}}),
        sender(mail::SmtpSettings{
            generation->config.mail.smtp_url, generation->config.mail.smtp_user,
            generation->config.mail.smtp_password, generation->config.mail.smtp_require_tls,
            generation->config.mail.smtp_ca_file, generation->config.mail.from}),
        delivery(outbox, sender, generation->shared.clock,
                 domain::MailDeliverySettings{generation->config.mail.retry_min_seconds,
                                              generation->config.mail.retry_max_seconds},
                 log_line,
                 [this](const domain::QueuedMail& request) {
                   self_service.expand_reset_request(request);
                 }),
        housekeeping(sessions, remember_tokens, throttle, tokens, outbox, generation->shared.clock),
        clock(generation->shared.clock) {}

  // One round: due mails, and once a minute a share of housekeeping (domain::Housekeeping,
  // the same operation `authctl db prune` runs to the end).
  std::size_t round() {
    const std::size_t sent = delivery.deliver_due(kMailsPerRound);
    if (const std::int64_t now = clock.now(); now - last_prune >= kPruneEverySeconds) {
      last_prune = now;
      housekeeping.run(kPruneBatchesPerRound);
    }
    return sent;
  }
};

constexpr std::chrono::milliseconds kDeliveryInterval{1000};

// Reads the configuration: the file (if any) and the environment captured at start, then the
// command line's overrides. Errors are printed by the caller.
config::LoadResult read_configuration(const Arguments& arguments, const config::Environment& env) {
  auto loaded = arguments.config_path ? config::load_config_file(*arguments.config_path, env)
                                      : config::load_config("", env);
  if (loaded.config) {
    if (arguments.socket) {
      loaded.config->listen = *arguments.socket;
    }
    if (arguments.threads) {
      loaded.config->threads = *arguments.threads;
    }
  }
  return loaded;
}

// SIGHUP: a new generation from the configuration file as it is now, or the reason it was
// refused (the running one then stays). Runs on the signal thread.
bool reload(const Arguments& arguments, const config::Environment& env, CurrentGeneration& current,
            domain::PoolMeter* meter) {
  const std::string source = arguments.config_path ? *arguments.config_path : "the environment";
  log_line("received SIGHUP: reloading the configuration from " + source + " and the templates");
  const auto refuse = [](const std::string& why) {
    log_line("reload refused: " + why + "; the running configuration stays");
    return false;
  };
  auto loaded = read_configuration(arguments, env);
  if (!loaded.config) {
    for (const auto& error : loaded.errors) {
      log_line("reload: " + error);
    }
    return refuse("the configuration has errors");
  }
  for (const auto& warning : loaded.warnings) {
    log_line("reload: warning: " + warning);
  }
  const auto running = current.get();
  const config::Config& before = running->config;
  const config::Config& after = *loaded.config;
  // These shape the process itself: they take effect at the next start.
  if (after.listen != before.listen || after.threads != before.threads) {
    log_line("reload: warning: listen and threads take effect at the next start");
  }
  if (before.mail.smtp_url.empty() != after.mail.smtp_url.empty()) {
    log_line(
        "reload: warning: turning mail delivery on or off (smtp_url) takes effect at the "
        "next start");
  }
  const auto& db_before = before.database;
  const auto& db_after = after.database;
  if (db_after.host != db_before.host || db_after.port != db_before.port ||
      db_after.unix_socket != db_before.unix_socket || db_after.user != db_before.user ||
      db_after.password != db_before.password || db_after.name != db_before.name) {
    // Every thread would lose its database on a wrong new setting: try it first.
    try {
      storage::MysqlConnection probe(db_after);
      probe.execute("DO 1");
    } catch (const std::exception& error) {
      return refuse(std::string("cannot reach the database with the new settings: ") +
                    error.what());
    }
  }
  try {
    current.replace(std::make_shared<Generation>(std::move(*loaded.config), meter));
  } catch (const std::exception& error) {
    return refuse(error.what());
  }
  log_line("reloaded: new requests use the new configuration and templates");
  return true;
}

int run(const std::vector<std::string>& args) {
  auto arguments = parse_arguments(args);
  if (!arguments) {
    return kExitConfig;
  }
  if (arguments->help) {
    std::cout << kUsage;
    return 0;
  }

  // The environment is read once, at start: a reload rereads the file only.
  const auto env = config::capture_environment();
  if (!arguments->config_path) {
    if (auto from_env = env.find("AUTHFCGI_CONFIG"); from_env != env.end()) {
      arguments->config_path = from_env->second;
    }
  }
  auto loaded = read_configuration(*arguments, env);
  if (!loaded.config) {
    for (const auto& error : loaded.errors) {
      std::cerr << "authfcgi: " << error << '\n';
    }
    return kExitConfig;
  }
  for (const auto& warning : loaded.warnings) {
    std::cerr << "authfcgi: warning: " << warning << '\n';
  }
  crypto::sodium_init_or_throw();

  fcgi::ServerOptions options;
  options.listen = loaded.config->listen;
  options.threads = loaded.config->threads;
  options.role = arguments->role;
  // The pool's counters are shared through the listening socket's name, so the socket comes
  // first. Without them the worker serves on, and /auth/status answers 503.
  std::unique_ptr<fcgi::SharedPoolStatus> pool;
  std::optional<CurrentGeneration> current;
  fcgi::Server server(options, [&current, &pool]() {
    auto context =
        std::make_shared<WorkerContext>(current->get(), PoolCounters{pool.get(), pool.get()});
    return fcgi::WorkerHandlers{
        [context](const web::Request& request) { return context->app.handle(request); },
        [context](int status) { return context->app.error_page(status); }};
  });
  try {
    pool = std::make_unique<fcgi::SharedPoolStatus>(
        server.address(), options.threads,
        std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
  } catch (const std::exception& error) {
    log_line(std::string("warning: no pool status: ") + error.what());
  }

  try {
    current.emplace(std::make_shared<Generation>(std::move(*loaded.config), pool.get()));
  } catch (const std::exception& error) {
    std::cerr << "authfcgi: " << error.what() << '\n';
    return kExitConfig;
  }
  // With a mail server, libcurl sets OpenSSL up first, fully (its digests and ciphers by name,
  // which certificate checks need); without one the database client's lean set-up decides.
  const bool sends_mail = !current->get()->config.mail.smtp_url.empty();
  if (sends_mail) {
    mail::init_curl();
  }
  storage::prepare_client_library();

  // Mail leaves the outbox only where a mail server is configured; else it waits there. The
  // delivery thread moves to a reloaded configuration at its next round.
  std::optional<mail::DeliveryThread> delivery;
  if (sends_mail) {
    delivery.emplace(
        [&current]() -> mail::DeliveryThread::Round {
          auto context = std::make_shared<std::shared_ptr<DeliveryContext>>();
          return [&current, context]() -> std::size_t {
            auto generation = current->get();
            if (generation->config.mail.smtp_url.empty()) {
              context->reset();  // nor keep the old generation's keys and connection
              return 0;
            }
            if (!*context || (*context)->generation != generation) {
              *context = std::make_shared<DeliveryContext>(std::move(generation));
            }
            return (*context)->round();
          };
        },
        kDeliveryInterval, log_line);
  }
  fcgi::ServerHooks hooks;
  hooks.pool = pool.get();
  hooks.reload = [&arguments, &env, &current, &pool] {
    return reload(*arguments, env, *current, pool.get());
  };
  return server.run(hooks);
}

}  // namespace

int main(int argc, char** argv) {
  // One malloc arena for all threads instead of one per thread: each arena keeps at least a
  // few hundred KiB of its own, which is most of an idle worker's private memory. The hot
  // allocations are small and served by glibc's per-thread caches without the arena lock.
  mallopt(M_ARENA_MAX, 1);
  try {
    fcgi::hold_stop_signals();
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& error) {
    std::cerr << "authfcgi: " << error.what() << '\n';
    return kExitRuntime;
  }
}
