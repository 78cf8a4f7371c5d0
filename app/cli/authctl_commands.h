#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/password_prompt.h"
#include "domain/accounts.h"
#include "domain/housekeeping.h"
#include "domain/login_throttle.h"
#include "domain/password_hasher.h"
#include "domain/password_policy.h"
#include "domain/user_repository.h"

namespace authfcgi::cli {

// Exit codes a script can rely on (also listed by `authctl help`).
constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;      // bad arguments or bad input (email, username, password, group)
constexpr int kExitNotFound = 2;   // no user with that email; group remove: not in the group
constexpr int kExitDuplicate = 3;  // the email or username is taken
constexpr int kExitDatabase = 4;   // the database is unavailable
constexpr int kExitFailure = 5;    // anything else (a migration file cannot be read, lock held)

// Everything the commands touch, injected so they run against mocks in tests.
struct AuthctlContext {
  std::ostream& out;
  std::ostream& err;
  std::function<PasswordInput(ConfirmPassword)> read_password;
  domain::UserRepository& users;
  domain::Accounts& accounts;  // password changes and revocation, as the web app does them
  domain::PasswordHasher& hasher;
  std::function<std::vector<int>()> migrate;  // applies pending migrations; returns versions
  domain::LoginThrottle& throttle;            // lists and clears lock-outs
  domain::Housekeeping& housekeeping;         // deletes what expired or is past its retention
  const domain::PasswordStrength& strength;   // the new-password rules, as the forms apply them
};

// The usage text, with the exit codes.
[[nodiscard]] std::string authctl_usage();

// Runs one command; args exclude the program name and --config. Returns the exit code.
int run_authctl(const std::vector<std::string>& args, AuthctlContext& ctx);

}  // namespace authfcgi::cli
