#include "config/config_loader.h"

#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "util/ip_address.h"
#include "util/strings.h"

namespace authfcgi::config {
namespace {

constexpr std::size_t kMinSecretBytes = 32;
constexpr std::string_view kSecretTooShort = "secret_key must be at least 32 bytes";
// libsodium's crypto_pwhash_OPSLIMIT_MIN and crypto_pwhash_MEMLIMIT_MIN for argon2id; config
// may not include <sodium.h> (layering), and a smaller value would make every hash fail.
constexpr std::uint64_t kMinOpslimit = 1;
constexpr std::uint64_t kMinMemlimit = 8192;
constexpr unsigned kMaxThreads = 1024;

// Strict unsigned parsing: digits only, no sign, no spaces, in [min, max].
std::optional<std::uint64_t> parse_unsigned(std::string_view text, std::uint64_t min,
                                            std::uint64_t max) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  return std::nullopt;
}

std::vector<std::string> parse_list(std::string_view text) {
  std::vector<std::string> items;
  for (auto part : util::split(text, ',')) {
    auto item = util::trim(part);
    if (!item.empty()) {
      items.emplace_back(item);
    }
  }
  return items;
}

constexpr std::uint64_t kMaxFailures = 1000000;

std::string range_text(std::uint64_t min, std::uint64_t max) {
  return "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max);
}

// One setter per key: it stores the value or returns what is wrong with it (never the value
// itself, which may be a password).
using Setter = std::function<std::optional<std::string>(Config&, std::string_view)>;

Setter unsigned_setter(std::function<void(Config&, std::uint64_t)> store, std::uint64_t min,
                       std::uint64_t max) {
  return [store = std::move(store), min, max](Config& config,
                                              std::string_view text) -> std::optional<std::string> {
    auto value = parse_unsigned(text, min, max);
    if (!value) {
      return range_text(min, max);
    }
    store(config, *value);
    return std::nullopt;
  };
}

// A setter for one number of the throttle settings.
Setter throttle_setter(std::function<std::int64_t&(domain::ThrottleSettings&)> field,
                       std::uint64_t min, std::uint64_t max) {
  return unsigned_setter(
      [field = std::move(field)](Config& config, std::uint64_t value) {
        field(config.throttle) = static_cast<std::int64_t>(value);
      },
      min, max);
}

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
}

// A string key whose value must pass `check` (the message says what was expected).
Setter checked_string_setter(std::function<std::string&(Config&)> field,
                             std::function<std::optional<std::string>(std::string_view)> check) {
  return [field = std::move(field), check = std::move(check)](
             Config& c, std::string_view text) -> std::optional<std::string> {
    if (auto problem = check(text)) {
      return problem;
    }
    field(c) = std::string(text);
    return std::nullopt;
  };
}

Setter bool_setter(std::function<bool&(Config&)> field) {
  return [field = std::move(field)](Config& config,
                                    std::string_view text) -> std::optional<std::string> {
    const auto value = parse_bool(text);
    if (!value) {
      return "expected true or false";
    }
    field(config) = *value;
    return std::nullopt;
  };
}

Setter string_setter(std::function<std::string&(Config&)> field) {
  return [field = std::move(field)](Config& config,
                                    std::string_view text) -> std::optional<std::string> {
    field(config) = std::string(text);
    return std::nullopt;
  };
}

const std::map<std::string, Setter, std::less<>>& setters() {
  constexpr auto kMaxSeconds = std::uint64_t{10} * 365 * 24 * 3600;
  constexpr auto kMaxSize = std::uint64_t{std::numeric_limits<std::size_t>::max()};
  // A worker thread waits this long at most for attempts ahead of it on one throttle key.
  constexpr auto kMaxBurstWaitSeconds = std::uint64_t{60};
  // Built once; immutable afterwards, so sharing it is safe.
  static const std::map<std::string, Setter, std::less<>> table = {
      {"secret_key", string_setter([](Config& c) -> std::string& { return c.secret_key; })},
      {"previous_secret_keys",
       [](Config& c, std::string_view text) -> std::optional<std::string> {
         c.previous_secret_keys = parse_list(text);
         return std::nullopt;
       }},
      {"db_host", string_setter([](Config& c) -> std::string& { return c.database.host; })},
      {"db_port",
       unsigned_setter(
           [](Config& c, std::uint64_t v) { c.database.port = static_cast<unsigned>(v); }, 1,
           65535)},
      {"db_socket",
       string_setter([](Config& c) -> std::string& { return c.database.unix_socket; })},
      {"db_user", string_setter([](Config& c) -> std::string& { return c.database.user; })},
      {"db_password", string_setter([](Config& c) -> std::string& { return c.database.password; })},
      {"db_name", string_setter([](Config& c) -> std::string& { return c.database.name; })},
      {"session_max_age", unsigned_setter(
                              [](Config& c, std::uint64_t v) {
                                c.session.max_age_seconds = static_cast<std::int64_t>(v);
                              },
                              1, kMaxSeconds)},
      {"remember_max_age", unsigned_setter(
                               [](Config& c, std::uint64_t v) {
                                 c.session.remember_max_age_seconds = static_cast<std::int64_t>(v);
                               },
                               1, kMaxSeconds)},
      {"csrf_time_limit", unsigned_setter(
                              [](Config& c, std::uint64_t v) {
                                c.session.csrf_time_limit_seconds = static_cast<std::int64_t>(v);
                              },
                              1, kMaxSeconds)},
      {"secure_cookies",
       bool_setter([](Config& c) -> bool& { return c.session.force_secure_cookies; })},
      {"pwhash_opslimit", unsigned_setter([](Config& c, std::uint64_t v) { c.pwhash.opslimit = v; },
                                          kMinOpslimit, std::numeric_limits<std::uint32_t>::max())},
      {"pwhash_memlimit",
       unsigned_setter(
           [](Config& c, std::uint64_t v) { c.pwhash.memlimit = static_cast<std::size_t>(v); },
           kMinMemlimit, kMaxSize)},
      {"pwhash_max_concurrent",
       unsigned_setter(
           [](Config& c, std::uint64_t v) { c.pwhash.max_concurrent = static_cast<unsigned>(v); },
           0, kMaxThreads)},
      {"throttle_pair_max_failures",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.pair.max_failures; }, 1,
           kMaxFailures)},
      {"throttle_pair_base_delay",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.pair.base_delay_seconds; },
           1, kMaxSeconds)},
      {"throttle_pair_max_delay",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.pair.max_delay_seconds; }, 1,
           kMaxSeconds)},
      {"throttle_pair_window",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.pair.window_seconds; }, 1,
           kMaxSeconds)},
      {"throttle_stuffing_max_failures",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.stuffing.max_failures; }, 1,
           kMaxFailures)},
      {"throttle_stuffing_window",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.stuffing.window_seconds; },
           1, kMaxSeconds)},
      {"throttle_distributed_max_failures",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.distributed.max_failures; },
           1, kMaxFailures)},
      {"throttle_distributed_window", throttle_setter(
                                          [](domain::ThrottleSettings& t) -> std::int64_t& {
                                            return t.distributed.window_seconds;
                                          },
                                          1, kMaxSeconds)},
      {"throttle_device_max_failures",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.device_max_failures; }, 1,
           kMaxFailures)},
      {"device_max_age",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.device_max_age_seconds; }, 1,
           kMaxSeconds)},
      {"throttle_burst_wait",
       throttle_setter(
           [](domain::ThrottleSettings& t) -> std::int64_t& { return t.burst_wait_seconds; }, 0,
           kMaxBurstWaitSeconds)},
      {"templates_dir", string_setter([](Config& c) -> std::string& { return c.templates_dir; })},
      {"smtp_url",
       checked_string_setter([](Config& c) -> std::string& { return c.mail.smtp_url; },
                             [](std::string_view v) -> std::optional<std::string> {
                               if (!v.starts_with("smtp://") && !v.starts_with("smtps://")) {
                                 return "expected smtp://HOST:PORT or smtps://HOST:PORT";
                               }
                               return std::nullopt;
                             })},
      {"smtp_user", string_setter([](Config& c) -> std::string& { return c.mail.smtp_user; })},
      {"smtp_password",
       string_setter([](Config& c) -> std::string& { return c.mail.smtp_password; })},
      {"smtp_require_tls", bool_setter([](Config& c) -> bool& { return c.mail.smtp_require_tls; })},
      {"smtp_ca_file",
       string_setter([](Config& c) -> std::string& { return c.mail.smtp_ca_file; })},
      {"mail_from", checked_string_setter([](Config& c) -> std::string& { return c.mail.from; },
                                          [](std::string_view v) -> std::optional<std::string> {
                                            if (!is_printable_ascii(v) ||
                                                v.find('@') == std::string_view::npos) {
                                              return "expected an address in printable ASCII, e.g. "
                                                     "Flasky Admin <flasky@example.com>";
                                            }
                                            return std::nullopt;
                                          })},
      {"mail_subject_prefix",
       checked_string_setter([](Config& c) -> std::string& { return c.mail.subject_prefix; },
                             [](std::string_view v) -> std::optional<std::string> {
                               if (!is_printable_ascii(v)) {
                                 return "expected printable ASCII";
                               }
                               return std::nullopt;
                             })},
      {"mail_retry_min", unsigned_setter(
                             [](Config& c, std::uint64_t v) {
                               c.mail.retry_min_seconds = static_cast<std::int64_t>(v);
                             },
                             1, kMaxSeconds)},
      {"mail_retry_max", unsigned_setter(
                             [](Config& c, std::uint64_t v) {
                               c.mail.retry_max_seconds = static_cast<std::int64_t>(v);
                             },
                             1, kMaxSeconds)},
      {"public_url",
       checked_string_setter([](Config& c) -> std::string& { return c.public_url; },
                             [](std::string_view v) -> std::optional<std::string> {
                               const auto host = v.substr(
                                   v.find("://") == std::string_view::npos ? 0 : v.find("://") + 3);
                               if ((!v.starts_with("https://") && !v.starts_with("http://")) ||
                                   host.empty() || host.front() == '/' || !is_printable_ascii(v) ||
                                   v.find_first_of(" \"<>") != std::string_view::npos) {
                                 return "expected https://HOST[:PORT][/PATH]";
                               }
                               return std::nullopt;
                             })},
      {"log_format",
       [](Config& c, std::string_view text) -> std::
                                                optional<std::string> {
                                                  if (text != "text" && text != "json") {
                                                    return "expected text or json";
                                                  }
                                                  c.log_json = text == "json";
                                                  return std::nullopt;
                                                }},
      {"status_enabled", bool_setter([](Config& c) -> bool& { return c.status_enabled; })},
      {"status_allow",
       [](Config& c,
          std::string_view text) -> std::
                                     optional<std::string> {
                                       c.status_allow.clear();
                                       for (const auto& entry : parse_list(text)) {
                                         const auto address = util::canonical_ip(entry);
                                         if (!address) {
                                           return "expected IP addresses separated by commas";
                                         }
                                         c.status_allow.push_back(*address);
                                       }
                                       return std::nullopt;
                                     }},
      {"registration",
       [](Config& c, std::string_view text) -> std::
                                                optional<std::string> {
                                                  if (text != "open" && text != "closed") {
                                                    return "expected open or closed";
                                                  }
                                                  c.registration_open = text == "open";
                                                  return std::nullopt;
                                                }},
      {"sql_dir", string_setter([](Config& c) -> std::string& { return c.sql_dir; })},
      {"listen", string_setter([](Config& c) -> std::string& { return c.listen; })},
      {"threads",
       unsigned_setter([](Config& c, std::uint64_t v) { c.threads = static_cast<unsigned>(v); }, 1,
                       kMaxThreads)},
  };
  return table;
}

// Keys of earlier releases, still read as the key they became (with a warning at start).
constexpr std::pair<std::string_view, std::string_view> kRenamedKeys[] = {
    {"throttle_account_max_failures", "throttle_pair_max_failures"},
    {"throttle_address_max_failures", "throttle_stuffing_max_failures"},
    {"throttle_base_delay", "throttle_pair_base_delay"},
    {"throttle_max_delay", "throttle_pair_max_delay"},
    {"throttle_forget_after", "throttle_pair_window"},
};

std::optional<std::string_view> renamed_to(std::string_view key) {
  for (const auto& [old_key, new_key] : kRenamedKeys) {
    if (key == old_key) {
      return new_key;
    }
  }
  return std::nullopt;
}

// Environment variables that override a key of the file.
constexpr std::pair<std::string_view, std::string_view> kEnvOverrides[] = {
    {"AUTHFCGI_SECRET_KEY", "secret_key"},
    {"AUTHFCGI_PREVIOUS_SECRET_KEYS", "previous_secret_keys"},
    {"AUTHFCGI_DB_HOST", "db_host"},
    {"AUTHFCGI_DB_PORT", "db_port"},
    {"AUTHFCGI_DB_SOCKET", "db_socket"},
    {"AUTHFCGI_DB_USER", "db_user"},
    {"AUTHFCGI_DB_PASSWORD", "db_password"},
    {"AUTHFCGI_DB_NAME", "db_name"},
    {"AUTHFCGI_SMTP_PASSWORD", "smtp_password"},
};

void parse_file(std::string_view text, Config& config, std::vector<std::string>& errors,
                std::vector<std::string>& renamed) {
  const auto& table = setters();
  std::set<std::string, std::less<>> seen;
  std::size_t line_number = 0;
  for (auto raw_line : util::split(text, '\n')) {
    ++line_number;
    if (!raw_line.empty() && raw_line.back() == '\r') {
      raw_line.remove_suffix(1);
    }
    auto line = util::trim(raw_line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const std::string where = "line " + std::to_string(line_number) + ": ";
    auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      errors.push_back(where + "expected 'key = value'");
      continue;
    }
    auto key = util::trim(line.substr(0, equals));
    auto value = util::trim(line.substr(equals + 1));
    if (const auto new_key = renamed_to(key)) {
      renamed.push_back(std::string(key) + " (now " + std::string(*new_key) + ")");
      key = *new_key;
    }
    auto setter = table.find(key);
    if (setter == table.end()) {
      errors.push_back(where + "unknown key '" + std::string(key) + "'");
      continue;
    }
    if (!seen.insert(std::string(key)).second) {
      errors.push_back(where + "'" + std::string(key) + "' is set twice (an old name counts)");
      continue;
    }
    if (auto error = setter->second(config, value)) {
      errors.push_back(where + std::string(key) + ": " + *error);
    }
  }
}

void apply_env(const Environment& env, Config& config, std::vector<std::string>& errors) {
  const auto& table = setters();
  for (const auto& [variable, key] : kEnvOverrides) {
    auto found = env.find(std::string(variable));
    if (found == env.end()) {
      continue;
    }
    if (auto error = table.find(key)->second(config, found->second)) {
      errors.push_back(std::string(variable) + ": " + *error);
    }
  }
}

void check_mail(Config& config, std::vector<std::string>& errors) {
  while (config.public_url.ends_with('/')) {
    config.public_url.pop_back();
  }
  if (!config.mail.smtp_url.empty() && config.public_url.empty()) {
    errors.emplace_back(
        "smtp_url needs public_url (the address the links in mails point to, e.g. "
        "https://login.example.com)");
  }
  if (config.registration_open && config.public_url.empty()) {
    errors.emplace_back(
        "registration = open needs public_url (the address the links in mails point to, e.g. "
        "https://login.example.com)");
  }
  if (config.mail.retry_max_seconds < config.mail.retry_min_seconds) {
    errors.emplace_back("mail_retry_max must be at least mail_retry_min");
  }
  if (!config.mail.smtp_user.empty() && config.mail.smtp_url.empty()) {
    errors.emplace_back("smtp_user needs smtp_url");
  }
}

void check_secrets(const Config& config, std::vector<std::string>& errors) {
  if (config.secret_key.size() < kMinSecretBytes) {
    errors.emplace_back(kSecretTooShort);
  }
  for (const auto& previous : config.previous_secret_keys) {
    if (previous.size() < kMinSecretBytes) {
      errors.emplace_back("previous_secret_keys: every key must be at least 32 bytes");
      break;
    }
  }
}

}  // namespace

LoadResult load_config(std::string_view file_text, const Environment& env,
                       SecretRequirement secret) {
  LoadResult result;
  Config config;
  std::vector<std::string> renamed;
  parse_file(file_text, config, result.errors, renamed);
  if (!renamed.empty()) {
    std::string warning =
        "old configuration keys still work as the new ones they became (the address limit now "
        "counts failures within throttle_stuffing_window, 24 h; see docs/configuration.md), "
        "rename them: ";
    for (std::size_t i = 0; i < renamed.size(); ++i) {
      warning += i == 0 ? "" : ", ";
      warning += renamed[i];
    }
    result.warnings.push_back(std::move(warning));
  }
  apply_env(env, config, result.errors);
  check_mail(config, result.errors);
  if (secret == SecretRequirement::Required) {
    check_secrets(config, result.errors);
  }
  if (result.errors.empty()) {
    result.config = std::move(config);
  }
  return result;
}

LoadResult load_config_file(const std::string& path, const Environment& env,
                            SecretRequirement secret) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    LoadResult result;
    result.errors.push_back("cannot read the configuration file " + path);
    return result;
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    LoadResult result;
    result.errors.push_back("cannot read the configuration file " + path);
    return result;
  }
  return load_config(text.str(), env, secret);
}

Environment capture_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto equals = text.find('=');
    if (equals == std::string_view::npos) {
      continue;
    }
    env.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return env;
}

}  // namespace authfcgi::config
