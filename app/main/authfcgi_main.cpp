// The worker's composition root: reads the configuration, builds the shared services once and
// one WorkerContext per thread, and runs the FastCGI server. No logic of its own.
#include <malloc.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <exception>
#include <iostream>
#include <memory>
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
#include "domain/mail_delivery.h"
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
    "SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.\n";

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

// Services shared by every worker thread; all thread-safe and immutable after construction.
struct SharedServices {
  crypto::KeyRing keys;
  crypto::SodiumPasswordHasher argon2;
  crypto::BoundedPasswordHasher hasher;
  crypto::SodiumRandomSource random;
  crypto::SodiumTokenCrypto token_crypto;
  crypto::SystemClock clock;
  logging::StderrEventSink events;
  crypto::ZxcvbnPasswordStrength strength;
  std::string dummy_hash;

  SharedServices(const config::Config& config, const std::vector<std::string_view>& previous)
      : keys(config.secret_key, previous),
        argon2(config.pwhash.opslimit, config.pwhash.memlimit),
        hasher(argon2, config.pwhash.max_concurrent),
        token_crypto(keys, random),
        events(std::cerr, config.log_json ? logging::LogFormat::Json : logging::LogFormat::Text),
        dummy_hash(domain::make_dummy_hash(hasher)) {}
};

// What one worker thread owns: its database connection and everything that uses it.
struct WorkerContext {
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

  WorkerContext(const config::Config& config, SharedServices& shared, web::view::Renderer& renderer,
                const web::view::MailRenderer& mail)
      : connection(config.database),
        users(connection),
        sessions(connection),
        remember_tokens(connection),
        throttle(connection),
        account_tokens(connection),
        outbox(connection),
        transactions(connection),
        accounts{account_tokens, outbox,          transactions,
                 mail,           shared.strength, config.registration_open},
        app(web::AppDependencies{users, sessions, remember_tokens, throttle, shared.hasher,
                                 shared.clock, shared.token_crypto, shared.random, shared.events,
                                 shared.keys, renderer, config.session, config.throttle,
                                 shared.dummy_hash, &accounts}) {}
};

// One write per line, as the server's own lines.
void log_line(const std::string& text) {
  const std::string line = "authfcgi: " + text + "\n";
  std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
  std::cerr.flush();
}

constexpr std::size_t kMailsPerRound = 20;
constexpr std::int64_t kPruneEverySeconds = 60;
constexpr std::int64_t kKeepSentMailSeconds = 2 * 3600;

// What the delivery thread owns: its own connection, the outbox on it, the SMTP client.
struct DeliveryContext {
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
  const domain::Clock& clock;
  std::int64_t last_prune = 0;

  DeliveryContext(const config::Config& config, SharedServices& shared,
                  const web::view::MailRenderer& composer)
      : connection(config.database),
        outbox(connection),
        tokens(connection),
        users(connection),
        sessions(connection),
        remember_tokens(connection),
        throttle_store(connection),
        transactions(connection),
        throttle(throttle_store, shared.random, shared.clock, config.throttle),
        accounts(users, sessions, remember_tokens, shared.hasher),
        self_service(domain::SelfServiceDependencies{
            users, tokens, outbox, transactions, composer, shared.hasher, shared.strength,
            shared.token_crypto, shared.clock, throttle, accounts, domain::SelfServiceSettings{}}),
        sender(mail::SmtpSettings{config.mail.smtp_url, config.mail.smtp_user,
                                  config.mail.smtp_password, config.mail.smtp_require_tls,
                                  config.mail.smtp_ca_file, config.mail.from}),
        delivery(outbox, sender, shared.clock,
                 domain::MailDeliverySettings{config.mail.retry_min_seconds,
                                              config.mail.retry_max_seconds},
                 log_line,
                 [this](const domain::QueuedMail& request) {
                   self_service.expand_reset_request(request);
                 }),
        clock(shared.clock) {}

  // One round: due mails, and once a minute the rows nothing needs any more (expired tokens;
  // sent or given-up mail older than the mail throttles' hour).
  std::size_t round() {
    const std::size_t sent = delivery.deliver_due(kMailsPerRound);
    if (const std::int64_t now = clock.now(); now - last_prune >= kPruneEverySeconds) {
      last_prune = now;
      tokens.prune(now);
      outbox.prune(now - kKeepSentMailSeconds);
    }
    return sent;
  }
};

constexpr std::chrono::milliseconds kDeliveryInterval{1000};

int run(const std::vector<std::string>& args) {
  auto arguments = parse_arguments(args);
  if (!arguments) {
    return kExitConfig;
  }
  if (arguments->help) {
    std::cout << kUsage;
    return 0;
  }

  const auto env = config::capture_environment();
  if (!arguments->config_path) {
    if (auto from_env = env.find("AUTHFCGI_CONFIG"); from_env != env.end()) {
      arguments->config_path = from_env->second;
    }
  }
  auto loaded = arguments->config_path ? config::load_config_file(*arguments->config_path, env)
                                       : config::load_config("", env);
  if (!loaded.config) {
    for (const auto& error : loaded.errors) {
      std::cerr << "authfcgi: " << error << '\n';
    }
    return kExitConfig;
  }
  for (const auto& warning : loaded.warnings) {
    std::cerr << "authfcgi: warning: " << warning << '\n';
  }
  config::Config config = std::move(*loaded.config);
  if (arguments->socket) {
    config.listen = *arguments->socket;
  }
  if (arguments->threads) {
    config.threads = *arguments->threads;
  }

  crypto::sodium_init_or_throw();
  const std::vector<std::string_view> previous(config.previous_secret_keys.begin(),
                                               config.previous_secret_keys.end());
  SharedServices shared(config, previous);

  // The templates are parsed (and the common pages prerendered) once, for every thread, before
  // any thread starts: a broken template is a clear start-up error, not a worker that never
  // serves.
  std::unique_ptr<web::view::Renderer> renderer;
  std::unique_ptr<web::view::MailRenderer> mail;
  try {
    renderer = std::make_unique<web::view::Renderer>(
        config.templates_dir, web::view::Renderer::Prerender::On, config.registration_open);
    mail = std::make_unique<web::view::MailRenderer>(config.templates_dir, config.public_url,
                                                     config.mail.subject_prefix);
  } catch (const std::exception& error) {
    std::cerr << "authfcgi: " << error.what() << '\n';
    return kExitConfig;
  }
  // With a mail server, libcurl sets OpenSSL up first, fully (its digests and ciphers by name,
  // which certificate checks need); without one the database client's lean set-up decides.
  const bool sends_mail = !config.mail.smtp_url.empty();
  if (sends_mail) {
    mail::init_curl();
  }
  storage::prepare_client_library();

  fcgi::ServerOptions options;
  options.listen = config.listen;
  options.threads = config.threads;
  options.role = arguments->role;
  // Mail leaves the outbox only where a mail server is configured; else it waits there.
  std::optional<mail::DeliveryThread> delivery;
  if (sends_mail) {
    delivery.emplace(
        [&config, &shared, &mail]() -> mail::DeliveryThread::Round {
          auto context = std::make_shared<DeliveryContext>(config, shared, *mail);
          return [context] { return context->round(); };
        },
        kDeliveryInterval, log_line);
  }
  fcgi::Server server(options, [&config, &shared, &renderer, &mail]() {
    auto context = std::make_shared<WorkerContext>(config, shared, *renderer, *mail);
    return fcgi::WorkerHandlers{
        [context](const web::Request& request) { return context->app.handle(request); },
        [context](int status) { return context->app.error_page(status); }};
  });
  return server.run();
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
