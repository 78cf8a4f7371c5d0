#include "cli/authctl_commands.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <map>
#include <optional>
#include <ostream>
#include <string_view>
#include <utility>
#include <variant>

#include "domain/email.h"
#include "domain/errors.h"
#include "domain/gateway.h"
#include "domain/password_policy.h"
#include "domain/throttle_policy.h"
#include "domain/username.h"
#include "util/ip_address.h"
#include "util/utf8.h"

namespace authfcgi::cli {
namespace {

// A command's input problem: the message is printed and the code returned.
struct Failure {
  int code;
  std::string message;
};

// What a command accepts besides its name.
struct OptionRules {
  std::vector<std::string_view> required;  // "--name value" or "--name=value", each exactly once
  std::string_view repeatable = {};        // a name that may come any number of times, or none
  std::size_t operands = 0;                // exactly this many arguments that are no option
  std::string_view operand_name = {};      // what they are, for the message when one is missing
};

struct Options {
  std::map<std::string, std::string, std::less<>> values;  // each required name's value
  std::vector<std::string> repeated;  // the repeatable option's values, in the order given
  std::vector<std::string> operands;

  [[nodiscard]] const std::string& value(std::string_view name) const {
    return values.find(name)->second;
  }
};

// Only the names the rules allow; "--" ends the options, so an operand may start with "--".
std::optional<Options> parse_options(const std::vector<std::string>& args, std::size_t first,
                                     const OptionRules& rules, std::string& problem) {
  Options options;
  bool options_ended = false;
  for (std::size_t i = first; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (options_ended || !arg.starts_with("--")) {
      if (options.operands.size() == rules.operands) {
        problem = "unexpected argument '" + std::string(arg) + "'";
        return std::nullopt;
      }
      options.operands.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::string name;
    std::string value;
    if (auto equals = arg.find('='); equals != std::string_view::npos) {
      name = std::string(arg.substr(2, equals - 2));
      value = std::string(arg.substr(equals + 1));
    } else {
      name = std::string(arg.substr(2));
      if (i + 1 >= args.size()) {
        problem = "--" + name + " needs a value";
        return std::nullopt;
      }
      value = args[++i];
    }
    if (!rules.repeatable.empty() && name == rules.repeatable) {
      options.repeated.push_back(std::move(value));
      continue;
    }
    if (std::find(rules.required.begin(), rules.required.end(), name) == rules.required.end()) {
      problem = "unknown option --" + name;
      return std::nullopt;
    }
    if (!options.values.emplace(name, std::move(value)).second) {
      problem = "--" + name + " is given twice";
      return std::nullopt;
    }
  }
  for (auto name : rules.required) {
    if (options.values.find(name) == options.values.end()) {
      problem = "--" + std::string(name) + " is required";
      return std::nullopt;
    }
  }
  // Too many were refused above, so here some are missing.
  if (options.operands.size() != rules.operands) {
    problem = std::string(rules.operand_name) + " is missing";
    return std::nullopt;
  }
  return options;
}

// Stored text as printable ASCII: anything else (a control character, a byte of another
// script) is shown as \xNN, so a value can never move the terminal's cursor or pass for
// another.
std::string printable(std::string_view text) {
  std::string shown;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\') {
      shown.push_back(c);
    } else {
      constexpr std::string_view kDigits = "0123456789abcdef";
      shown += "\\x";
      shown.push_back(kDigits[byte >> 4U]);
      shown.push_back(kDigits[byte & 0x0FU]);
    }
  }
  return shown;
}

std::variant<std::string, Failure> checked_email(std::string_view raw) {
  if (!util::is_valid_utf8(raw)) {
    return Failure{kExitUsage, "email: Invalid email address."};
  }
  auto email = domain::normalize_email(raw);
  if (auto error = domain::validate_email(email)) {
    return Failure{kExitUsage, "email: " + std::string(domain::email_error_message(*error))};
  }
  return email;
}

// An address to store (user add): ASCII only, as the registration form takes it.
std::variant<std::string, Failure> checked_new_email(std::string_view raw) {
  auto email = checked_email(raw);
  if (auto* address = std::get_if<std::string>(&email)) {
    if (auto error = domain::validate_new_email(*address)) {
      return Failure{kExitUsage, "email: " + std::string(domain::email_error_message(*error))};
    }
  }
  return email;
}

std::optional<Failure> check_username(std::string_view username) {
  if (auto error = domain::validate_username(username)) {
    return Failure{kExitUsage, "username: " + std::string(domain::username_error_message(*error))};
  }
  return std::nullopt;
}

// The new password, by the rules of the registration form.
std::variant<std::string, Failure> new_password(AuthctlContext& ctx, std::string_view username,
                                                std::string_view email) {
  auto input = ctx.read_password(ConfirmPassword::Yes);
  if (!input.password) {
    return Failure{kExitUsage, "password: " + input.problem};
  }
  if (auto problem = domain::check_new_password(*input.password, username, email, ctx.strength)) {
    return Failure{kExitUsage,
                   "password: " + std::string(domain::password_problem_message(*problem))};
  }
  return std::move(*input.password);
}

// Every name valid, checked before anything is written or a password asked.
std::optional<Failure> check_groups(const std::vector<std::string>& groups) {
  for (const auto& group : groups) {
    if (!domain::is_valid_group_name(group)) {
      return Failure{kExitUsage, "group: '" + printable(group) +
                                     "' is not a group name: a group name is 1 to 64 of "
                                     "A-Z a-z 0-9 . _ -"};
    }
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string text;
  for (const auto& part : parts) {
    if (!text.empty()) {
      text += separator;
    }
    text += part;
  }
  return text;
}

int report(AuthctlContext& ctx, const Failure& failure) {
  ctx.err << "authctl: " << failure.message << '\n';
  return failure.code;
}

Failure no_such_user(std::string_view email) {
  return Failure{kExitNotFound, "no user with the email " + printable(email)};
}

// Looks the user up by --email; a Failure when the email is bad or unknown.
std::variant<domain::User, Failure> existing_user(AuthctlContext& ctx, std::string_view raw) {
  auto email = checked_email(raw);
  if (auto* failure = std::get_if<Failure>(&email)) {
    return *failure;
  }
  auto user = ctx.users.find_by_email(std::get<std::string>(email));
  if (!user) {
    return no_such_user(std::get<std::string>(email));
  }
  return std::move(*user);
}

int user_add(AuthctlContext& ctx, const Options& options) {
  auto email = checked_new_email(options.value("email"));
  if (auto* failure = std::get_if<Failure>(&email)) {
    return report(ctx, *failure);
  }
  const auto& username = options.value("username");
  if (auto failure = check_username(username)) {
    return report(ctx, *failure);
  }
  std::vector<std::string> groups = options.repeated;
  if (auto failure = check_groups(groups)) {
    return report(ctx, *failure);
  }
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  // Asking for a password only to then refuse the email would waste the operator's time.
  if (ctx.users.find_by_email(std::get<std::string>(email))) {
    return report(ctx, Failure{kExitDuplicate, "a user with that email already exists"});
  }
  auto password = new_password(ctx, username, std::get<std::string>(email));
  if (auto* failure = std::get_if<Failure>(&password)) {
    return report(ctx, *failure);
  }
  const auto hash = ctx.hasher.hash(std::get<std::string>(password));
  const auto id = ctx.users.add(std::get<std::string>(email), username, hash);
  ctx.out << "authctl: added user " << std::get<std::string>(email) << " (id " << id << ")\n";
  for (const auto& group : groups) {
    // Only a `user delete` run in between makes this false.
    if (!ctx.users.add_to_group(id, group)) {
      return report(ctx, no_such_user(std::get<std::string>(email)));
    }
  }
  if (!groups.empty()) {
    ctx.out << "authctl: " << std::get<std::string>(email) << " is in the groups "
            << joined(groups, ", ") << '\n';
  }
  return kExitOk;
}

int user_passwd(AuthctlContext& ctx, const Options& options) {
  auto user = existing_user(ctx, options.value("email"));
  if (auto* failure = std::get_if<Failure>(&user)) {
    return report(ctx, *failure);
  }
  const auto& found = std::get<domain::User>(user);
  auto password = new_password(ctx, found.username, found.email);
  if (auto* failure = std::get_if<Failure>(&password)) {
    return report(ctx, *failure);
  }
  if (!ctx.accounts.set_password(found.id, std::get<std::string>(password))) {
    return report(ctx, no_such_user(found.email));
  }
  ctx.out << "authctl: password changed for " << printable(found.email)
          << "; all of its sessions were logged out\n";
  return kExitOk;
}

int user_list(AuthctlContext& ctx) {
  const auto users = ctx.users.list();
  // Stored values are shown escaped (printable ASCII), so the widths are in bytes.
  std::vector<std::pair<std::string, std::string>> shown;
  std::size_t id_width = 2;
  std::size_t email_width = 5;
  std::size_t username_width = 8;
  for (const auto& user : users) {
    shown.emplace_back(printable(user.email), printable(user.username));
    id_width = std::max(id_width, std::to_string(user.id).size());
    email_width = std::max(email_width, shown.back().first.size());
    username_width = std::max(username_width, shown.back().second.size());
  }
  const auto cell = [&](std::string_view text, std::size_t width) {
    ctx.out << text << std::string(width - std::min(width, text.size()) + 2, ' ');
  };
  const auto row = [&](std::string_view id, std::string_view email, std::string_view username,
                       std::string_view confirmed, std::string_view groups) {
    cell(id, id_width);
    cell(email, email_width);
    cell(username, username_width);
    cell(confirmed, 9);
    ctx.out << groups << '\n';
  };
  row("ID", "EMAIL", "USERNAME", "CONFIRMED", "GROUPS");
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& user = users[i];
    row(std::to_string(user.id), shown[i].first, shown[i].second, user.confirmed ? "yes" : "no",
        user.groups.empty() ? "-" : joined(user.groups, ","));
  }
  return kExitOk;
}

int user_confirm(AuthctlContext& ctx, const Options& options) {
  auto user = existing_user(ctx, options.value("email"));
  if (auto* failure = std::get_if<Failure>(&user)) {
    return report(ctx, *failure);
  }
  const auto& found = std::get<domain::User>(user);
  if (found.confirmed) {
    ctx.out << "authctl: " << printable(found.email) << " is confirmed already\n";
    return kExitOk;
  }
  if (!ctx.users.confirm(found.id)) {
    return report(ctx, no_such_user(found.email));
  }
  ctx.out << "authctl: confirmed " << printable(found.email) << '\n';
  return kExitOk;
}

int user_delete(AuthctlContext& ctx, const Options& options) {
  auto user = existing_user(ctx, options.value("email"));
  if (auto* failure = std::get_if<Failure>(&user)) {
    return report(ctx, *failure);
  }
  const auto& found = std::get<domain::User>(user);
  if (!ctx.users.remove(found.id)) {
    return report(ctx, no_such_user(found.email));
  }
  ctx.out << "authctl: deleted user " << printable(found.email) << '\n';
  return kExitOk;
}

int user_logout_everywhere(AuthctlContext& ctx, const Options& options) {
  auto user = existing_user(ctx, options.value("email"));
  if (auto* failure = std::get_if<Failure>(&user)) {
    return report(ctx, *failure);
  }
  const auto& found = std::get<domain::User>(user);
  ctx.accounts.log_out_everywhere(found.id);
  ctx.out << "authctl: logged out " << printable(found.email) << " everywhere\n";
  return kExitOk;
}

// The user named by --email and the group name operand, both checked.
struct GroupChange {
  domain::User user;
  std::string group;
};

std::variant<GroupChange, Failure> group_change(AuthctlContext& ctx, const Options& options) {
  // Both inputs are checked before the database is asked anything.
  auto email = checked_email(options.value("email"));
  if (auto* failure = std::get_if<Failure>(&email)) {
    return *failure;
  }
  const std::string& group = options.operands.front();
  if (auto failure = check_groups({group})) {
    return *failure;
  }
  auto user = ctx.users.find_by_email(std::get<std::string>(email));
  if (!user) {
    return no_such_user(printable(std::get<std::string>(email)));
  }
  return GroupChange{std::move(*user), group};
}

// Workers read a user's groups with its session on every request, so nobody has to log out.
constexpr std::string_view kNextRequest = "; this takes effect on the user's next request\n";

int group_add(AuthctlContext& ctx, const Options& options) {
  auto change = group_change(ctx, options);
  if (auto* failure = std::get_if<Failure>(&change)) {
    return report(ctx, *failure);
  }
  const auto& [user, group] = std::get<GroupChange>(change);
  const auto current = ctx.users.groups_of(user.id);
  if (std::find(current.begin(), current.end(), group) != current.end()) {
    ctx.out << "authctl: " << printable(user.email) << " is already in the group " << group << '\n';
    return kExitOk;
  }
  if (!ctx.users.add_to_group(user.id, group)) {
    return report(ctx, no_such_user(printable(user.email)));
  }
  ctx.out << "authctl: added " << printable(user.email) << " to the group " << group
          << kNextRequest;
  return kExitOk;
}

int group_remove(AuthctlContext& ctx, const Options& options) {
  auto change = group_change(ctx, options);
  if (auto* failure = std::get_if<Failure>(&change)) {
    return report(ctx, *failure);
  }
  const auto& [user, group] = std::get<GroupChange>(change);
  if (!ctx.users.remove_from_group(user.id, group)) {
    return report(ctx,
                  Failure{kExitNotFound, printable(user.email) + " is not in the group " + group});
  }
  ctx.out << "authctl: removed " << printable(user.email) << " from the group " << group
          << kNextRequest;
  return kExitOk;
}

int db_migrate(AuthctlContext& ctx) {
  const auto versions = ctx.migrate();
  if (versions.empty()) {
    ctx.out << "authctl: the database schema is up to date\n";
    return kExitOk;
  }
  ctx.out << "authctl: applied migrations";
  for (std::size_t i = 0; i < versions.size(); ++i) {
    ctx.out << (i == 0 ? " " : ", ") << versions[i];
  }
  ctx.out << '\n';
  return kExitOk;
}

std::string key_text(const domain::ThrottleKey& key) {
  // Built by appending: GCC 12 misreads "literal" + std::string&& at -O2 (-Wrestrict).
  std::string text(domain::scope_name(key.scope));
  const auto part = [&text](std::string_view value) {
    text += ' ';
    text += printable(value);
  };
  switch (key.scope) {
    case domain::ThrottleScope::Pair:
      part(key.email);
      part(key.address);
      break;
    case domain::ThrottleScope::Address:
      part(key.address);
      break;
    case domain::ThrottleScope::Account:
      part(key.email);
      break;
    case domain::ThrottleScope::Device:
      part(key.email);
      part(key.device);
      break;
  }
  return text;
}

int throttle_list(AuthctlContext& ctx) {
  const auto statuses = ctx.throttle.list();
  std::size_t key_width = 3;
  std::vector<std::string> keys;
  keys.reserve(statuses.size());
  for (const auto& status : statuses) {
    keys.push_back(key_text(status.key));
    key_width = std::max(key_width, keys.back().size());
  }
  const auto row = [&](std::string_view key, std::string_view failures, std::string_view wait) {
    ctx.out << std::left << std::setw(static_cast<int>(key_width)) << key << "  " << std::setw(8)
            << failures << "  " << wait << '\n';
  };
  row("KEY", "FAILURES", "WAIT");
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    const auto wait = statuses[i].retry_after_seconds;
    row(keys[i], std::to_string(statuses[i].failures),
        wait > 0 ? std::to_string(wait) + "s (" + domain::wait_text(wait) + ")" : "-");
  }
  return kExitOk;
}

// Exactly one of --email E, --address A, --all.
std::optional<domain::ThrottleFilter> parse_throttle_filter(const std::vector<std::string>& args,
                                                            std::string& problem) {
  const auto rest = std::vector<std::string>(args.begin() + 2, args.end());
  if (rest.size() == 1 && rest[0] == "--all") {
    return domain::ThrottleFilter{};
  }
  const std::vector<std::string_view> names{"email", "address"};
  for (const auto name : names) {
    std::string flag = "--" + std::string(name);
    std::optional<std::string> value;
    if (rest.size() == 2 && rest[0] == flag) {
      value = rest[1];
    } else if (rest.size() == 1 && rest[0].starts_with(flag + "=")) {
      value = rest[0].substr(flag.size() + 1);
    }
    if (!value) {
      continue;
    }
    if (value->empty()) {
      problem = flag + " needs a value";
      return std::nullopt;
    }
    domain::ThrottleFilter filter;
    if (name == "email") {
      filter.email = domain::normalize_email(*value);
    } else {
      filter.address = util::throttle_network(*value);
    }
    return filter;
  }
  problem = "throttle clear needs exactly one of --email E, --address A or --all";
  return std::nullopt;
}

int throttle_clear(AuthctlContext& ctx, const domain::ThrottleFilter& filter) {
  const std::size_t cleared = ctx.throttle.clear(filter);
  const std::string what = filter.email     ? " for " + printable(*filter.email)
                           : filter.address ? " for " + printable(*filter.address)
                                            : "";
  ctx.out << "authctl: cleared " << cleared << (cleared == 1 ? " throttle key" : " throttle keys")
          << what << '\n';
  return kExitOk;
}

int db_prune(AuthctlContext& ctx) {
  const domain::HousekeepingResult deleted = ctx.housekeeping.run();
  constexpr std::int64_t kMailHours = domain::Housekeeping::kMailRetentionSeconds / 3600;
  ctx.out << "sessions: " << deleted.sessions << " expired deleted\n"
          << "remember tokens: " << deleted.remember_tokens << " expired deleted\n"
          << "throttle rows: " << deleted.throttle_rows << " no longer counting deleted\n"
          << "account tokens: " << deleted.account_tokens << " expired deleted\n"
          << "mails: " << deleted.mails << " sent or given up over " << kMailHours
          << " h ago deleted\n";
  return kExitOk;
}

int usage_error(AuthctlContext& ctx, const std::string& problem) {
  ctx.err << "authctl: " << problem << "\n\n" << authctl_usage();
  return kExitUsage;
}

int dispatch(const std::vector<std::string>& args, AuthctlContext& ctx) {
  if (args.empty()) {
    return usage_error(ctx, "no command given");
  }
  const auto& topic = args[0];
  if (topic == "help" || topic == "--help" || topic == "-h") {
    ctx.out << authctl_usage();
    return kExitOk;
  }
  if (args.size() < 2) {
    return usage_error(ctx, "'" + topic + "' needs a subcommand");
  }
  const auto& command = args[1];
  std::string problem;
  const auto with = [&](const OptionRules& rules) {
    return parse_options(args, 2, rules, problem);
  };
  if (topic == "user" && command == "add") {
    auto options = with({.required = {"email", "username"}, .repeatable = "group"});
    return options ? user_add(ctx, *options) : usage_error(ctx, problem);
  }
  if (topic == "user" && command == "passwd") {
    auto options = with({.required = {"email"}});
    return options ? user_passwd(ctx, *options) : usage_error(ctx, problem);
  }
  if (topic == "user" && command == "list") {
    auto options = with({});
    return options ? user_list(ctx) : usage_error(ctx, problem);
  }
  if (topic == "user" && command == "confirm") {
    auto options = with({.required = {"email"}});
    return options ? user_confirm(ctx, *options) : usage_error(ctx, problem);
  }
  if (topic == "user" && command == "delete") {
    auto options = with({.required = {"email"}});
    return options ? user_delete(ctx, *options) : usage_error(ctx, problem);
  }
  if (topic == "user" && command == "logout-everywhere") {
    auto options = with({.required = {"email"}});
    return options ? user_logout_everywhere(ctx, *options) : usage_error(ctx, problem);
  }
  if (topic == "group" && (command == "add" || command == "remove")) {
    auto options = with({.required = {"email"}, .operands = 1, .operand_name = "the group name G"});
    if (!options) {
      return usage_error(ctx, problem);
    }
    return command == "add" ? group_add(ctx, *options) : group_remove(ctx, *options);
  }
  if (topic == "db" && command == "migrate") {
    auto options = with({});
    return options ? db_migrate(ctx) : usage_error(ctx, problem);
  }
  if (topic == "db" && command == "prune") {
    auto options = with({});
    return options ? db_prune(ctx) : usage_error(ctx, problem);
  }
  if (topic == "throttle" && command == "list") {
    auto options = with({});
    return options ? throttle_list(ctx) : usage_error(ctx, problem);
  }
  if (topic == "throttle" && command == "clear") {
    auto filter = parse_throttle_filter(args, problem);
    return filter ? throttle_clear(ctx, *filter) : usage_error(ctx, problem);
  }
  return usage_error(ctx, "unknown command '" + topic + " " + command + "'");
}

}  // namespace

std::string authctl_usage() {
  return "usage: authctl [--config PATH] COMMAND\n"
         "\n"
         "commands:\n"
         "  user add --email E --username U [--group G]...\n"
         "                                     add a user (asks for the password), in each group "
         "G\n"
         "  user passwd --email E              set a new password and log the user out "
         "everywhere\n"
         "  user list                          list users: id, email, username, confirmed, groups\n"
         "  user confirm --email E             confirm the account (as its mail's link does)\n"
         "  user delete --email E              delete a user, its sessions and remember tokens\n"
         "  user logout-everywhere --email E   end every session and remember token of a user\n"
         "  group add --email E G              add the user to the group G\n"
         "  group remove --email E G           take the user out of the group G\n"
         "  db migrate                         apply the pending sql/ migrations\n"
         "  db prune                           delete expired sessions, remember tokens and\n"
         "                                     mail links, throttle rows that no longer count,\n"
         "                                     sent or given-up mail over 2 h old; run hourly\n"
         "  throttle list                      list throttled keys: key, failures, wait\n"
         "  throttle clear --email E | --address A | --all\n"
         "                                     forget the failed logins of those keys\n"
         "  help                               show this text\n"
         "\n"
         "The password is read from a no-echo prompt (asked twice), or as one line from\n"
         "standard input when that is not a terminal. It must be 8 to 1024 characters, not\n"
         "easy to guess, and contain neither the username nor the email's local part.\n"
         "A username is a letter, then letters, digits, dots or underscores (ASCII); a new\n"
         "email address is ASCII (an international domain in its xn-- form).\n"
         "A group name is 1 to 64 of A-Z a-z 0-9 . _ - (case matters). Group changes take\n"
         "effect on the user's next request; the user stays logged in.\n"
         "The configuration file comes from --config or AUTHFCGI_CONFIG; AUTHFCGI_DB_HOST,\n"
         "AUTHFCGI_DB_PORT, AUTHFCGI_DB_SOCKET, AUTHFCGI_DB_USER, AUTHFCGI_DB_PASSWORD and\n"
         "AUTHFCGI_DB_NAME override its database settings.\n"
         "\n"
         "exit codes:\n"
         "  0  success\n"
         "  1  usage error or bad input (email, username, password, group name)\n"
         "  2  no user with that email (group remove: the user is not in that group)\n"
         "  3  a user with that email or username already exists\n"
         "  4  the database is unavailable\n"
         "  5  other failure (e.g. a migration file cannot be read, or another migration\n"
         "     held the migration lock for 30 s: the message says who and how to clear it)\n";
}

int run_authctl(const std::vector<std::string>& args, AuthctlContext& ctx) {
  try {
    return dispatch(args, ctx);
  } catch (const domain::DuplicateKey&) {
    return report(ctx,
                  Failure{kExitDuplicate, "a user with that email or username already exists"});
  } catch (const domain::StorageUnavailable& error) {
    return report(
        ctx, Failure{kExitDatabase, std::string("the database is unavailable: ") + error.what()});
  } catch (const std::exception& error) {
    return report(ctx, Failure{kExitFailure, error.what()});
  }
}

}  // namespace authfcgi::cli
