// authctl's composition root: configuration, one database connection, the hasher and the
// migrator, handed to run_authctl. No logic of its own.
#include <unistd.h>

#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/authctl_commands.h"
#include "cli/password_prompt.h"
#include "config/config_loader.h"
#include "crypto/sodium_init.h"
#include "crypto/sodium_password_hasher.h"
#include "crypto/sodium_random_source.h"
#include "crypto/system_clock.h"
#include "crypto/zxcvbn_password_strength.h"
#include "domain/accounts.h"
#include "domain/housekeeping.h"
#include "domain/login_throttle.h"
#include "storage/migrator.h"
#include "storage/mysql_account_token_store.h"
#include "storage/mysql_connection.h"
#include "storage/mysql_login_throttle_store.h"
#include "storage/mysql_mail_outbox.h"
#include "storage/mysql_remember_token_store.h"
#include "storage/mysql_session_store.h"
#include "storage/mysql_user_repository.h"

namespace {

using namespace authfcgi;

int run(std::vector<std::string> args) {
  std::optional<std::string> config_path;
  // --config is ours; everything after it belongs to the command.
  while (!args.empty() && (args[0] == "--config" || args[0].starts_with("--config="))) {
    if (args[0] == "--config") {
      if (args.size() < 2) {
        std::cerr << "authctl: --config needs a value\n";
        return cli::kExitUsage;
      }
      config_path = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else {
      config_path = args[0].substr(std::string_view("--config=").size());
      args.erase(args.begin());
    }
  }
  // Help needs no configuration and no database.
  if (!args.empty() && (args[0] == "help" || args[0] == "--help" || args[0] == "-h")) {
    std::cout << cli::authctl_usage();
    return cli::kExitOk;
  }

  const auto env = config::capture_environment();
  if (!config_path) {
    if (auto from_env = env.find("AUTHFCGI_CONFIG"); from_env != env.end()) {
      config_path = from_env->second;
    }
  }
  // authctl signs nothing, so it runs where the secret is kept from it.
  const auto secret = config::SecretRequirement::Optional;
  auto loaded = config_path ? config::load_config_file(*config_path, env, secret)
                            : config::load_config("", env, secret);
  if (!loaded.config) {
    for (const auto& error : loaded.errors) {
      std::cerr << "authctl: " << error << '\n';
    }
    return cli::kExitUsage;
  }
  for (const auto& warning : loaded.warnings) {
    std::cerr << "authctl: warning: " << warning << '\n';
  }
  const config::Config& config = *loaded.config;

  crypto::sodium_init_or_throw();
  crypto::SodiumPasswordHasher hasher(config.pwhash.opslimit, config.pwhash.memlimit);
  storage::MysqlConnection connection(config.database);
  storage::MysqlUserRepository users(connection);
  storage::MysqlSessionStore sessions(connection);
  storage::MysqlRememberTokenStore remember_tokens(connection);
  storage::Migrator migrator(connection, config.sql_dir);
  domain::Accounts accounts(users, sessions, remember_tokens, hasher);
  storage::MysqlLoginThrottleStore throttle_store(connection);
  const crypto::SodiumRandomSource random;
  const crypto::SystemClock clock;
  domain::LoginThrottle throttle(throttle_store, random, clock, config.throttle);
  storage::MysqlAccountTokenStore account_tokens(connection);
  storage::MysqlMailOutbox outbox(connection);
  domain::Housekeeping housekeeping(sessions, remember_tokens, throttle, account_tokens, outbox,
                                    clock);
  const crypto::ZxcvbnPasswordStrength strength;

  cli::AuthctlContext context{
      std::cout,
      std::cerr,
      [](cli::ConfirmPassword confirm) {
        return cli::read_password(STDIN_FILENO, std::cin, std::cerr, confirm);
      },
      users,
      accounts,
      hasher,
      [&migrator] { return migrator.migrate(); },
      throttle,
      housekeeping,
      strength,
  };
  return cli::run_authctl(args, context);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& error) {
    std::cerr << "authctl: " << error.what() << '\n';
    return cli::kExitFailure;
  }
}
