#include "config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace authfcgi::config {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kSecret(32, 's');
const std::string kSecretLine = "secret_key = " + kSecret + "\n";

TEST(ConfigLoader, MinimalFileGivesTheDocumentedDefaults) {
  auto result = load_config(kSecretLine, {});
  ASSERT_TRUE(result.config) << ::testing::PrintToString(result.errors);
  const Config& config = *result.config;
  EXPECT_EQ(config.secret_key, kSecret);
  EXPECT_EQ(config.database.host, "127.0.0.1");
  EXPECT_EQ(config.database.port, 3306U);
  EXPECT_EQ(config.session.max_age_seconds, 24 * 3600);
  EXPECT_EQ(config.session.csrf_time_limit_seconds, 3600);
  EXPECT_FALSE(config.session.force_secure_cookies);
  EXPECT_EQ(config.threads, 4U);
  EXPECT_TRUE(config.listen.empty());
}

TEST(ConfigLoader, ReadsEveryKeyIgnoringCommentsAndBlankLines) {
  const std::string text = "# a comment\n\n" + kSecretLine +
                           "previous_secret_keys = " + std::string(32, 'a') + " , " +
                           std::string(33, 'b') +
                           "\r\n"
                           "db_host = db.internal\n"
                           "db_port = 3307\n"
                           "db_socket = /run/mysqld/mysqld.sock\n"
                           "db_user = app\n"
                           "db_password = p#ss = word\n"
                           "db_name = logins\n"
                           "session_max_age = 600\n"
                           "remember_max_age = 86400\n"
                           "csrf_time_limit = 120\n"
                           "secure_cookies = true\n"
                           "pwhash_opslimit = 3\n"
                           "pwhash_memlimit = 16777216\n"
                           "pwhash_max_concurrent = 2\n"
                           "templates_dir = /srv/templates\n"
                           "sql_dir = /srv/sql\n"
                           "listen = 127.0.0.1:9000\n"
                           "   threads=8   \n";
  auto result = load_config(text, {});
  ASSERT_TRUE(result.config) << ::testing::PrintToString(result.errors);
  const Config& c = *result.config;
  EXPECT_THAT(c.previous_secret_keys, ElementsAre(std::string(32, 'a'), std::string(33, 'b')));
  EXPECT_EQ(c.database.host, "db.internal");
  EXPECT_EQ(c.database.port, 3307U);
  EXPECT_EQ(c.database.unix_socket, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(c.database.user, "app");
  EXPECT_EQ(c.database.password, "p#ss = word");  // '#' inside a value is not a comment
  EXPECT_EQ(c.database.name, "logins");
  EXPECT_EQ(c.session.max_age_seconds, 600);
  EXPECT_EQ(c.session.remember_max_age_seconds, 86400);
  EXPECT_EQ(c.session.csrf_time_limit_seconds, 120);
  EXPECT_TRUE(c.session.force_secure_cookies);
  EXPECT_EQ(c.pwhash.opslimit, 3U);
  EXPECT_EQ(c.pwhash.memlimit, 16777216U);
  EXPECT_EQ(c.pwhash.max_concurrent, 2U);
  EXPECT_EQ(c.templates_dir, "/srv/templates");
  EXPECT_EQ(c.sql_dir, "/srv/sql");
  EXPECT_EQ(c.listen, "127.0.0.1:9000");
  EXPECT_EQ(c.threads, 8U);
}

TEST(ConfigLoader, UnknownKeyIsAnErrorNamingTheLine) {
  auto result = load_config(kSecretLine + "\ndb_hots = x\n", {});
  EXPECT_FALSE(result.config);
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_THAT(result.errors[0], AllOf(HasSubstr("line 3"), HasSubstr("db_hots")));
}

TEST(ConfigLoader, LineWithoutEqualsIsAnError) {
  auto result = load_config(kSecretLine + "threads 4\n", {});
  EXPECT_FALSE(result.config);
  EXPECT_THAT(result.errors, ElementsAre(HasSubstr("line 2")));
}

TEST(ConfigLoader, RepeatedKeyIsAnError) {
  auto result = load_config(kSecretLine + "threads = 2\nthreads = 3\n", {});
  EXPECT_FALSE(result.config);
  EXPECT_THAT(result.errors, ElementsAre(AllOf(HasSubstr("line 3"), HasSubstr("threads"))));
}

TEST(ConfigLoader, BadNumbersAndBooleansAreErrors) {
  for (const std::string line :
       {"db_port = 0", "db_port = 65536", "db_port = 33o6", "db_port = -1",
        "db_port =", "threads = 0", "threads = 1e3", "session_max_age = 1h", "session_max_age = 0",
        "pwhash_memlimit = 100", "pwhash_opslimit = 0", "secure_cookies = yes",
        "secure_cookies = 1", "csrf_time_limit = 99999999999999999999999"}) {
    auto result = load_config(kSecretLine + line + "\n", {});
    EXPECT_FALSE(result.config) << line;
    EXPECT_THAT(result.errors, ElementsAre(HasSubstr("line 2"))) << line;
  }
}

TEST(ConfigLoader, MissingSecretIsRefused) {
  auto result = load_config("db_host = x\n", {});
  EXPECT_FALSE(result.config);
  EXPECT_THAT(result.errors, ElementsAre("secret_key must be at least 32 bytes"));
}

TEST(ConfigLoader, ShortSecretIsRefusedWithoutPrintingIt) {
  const std::string short_secret = "hunter2-hunter2-hunter2-hunter2";  // 31 bytes
  auto result = load_config("secret_key = " + short_secret + "\n", {});
  EXPECT_FALSE(result.config);
  ASSERT_THAT(result.errors, ElementsAre("secret_key must be at least 32 bytes"));
  for (const auto& error : result.errors) {
    EXPECT_THAT(error, Not(HasSubstr("hunter2")));
  }
}

TEST(ConfigLoader, ShortPreviousSecretIsRefused) {
  auto result = load_config(kSecretLine + "previous_secret_keys = tooshort\n", {});
  EXPECT_FALSE(result.config);
  EXPECT_THAT(result.errors, ElementsAre(HasSubstr("previous_secret_keys")));
}

TEST(ConfigLoader, SecretMayBeMissingWhenOptional) {
  auto result = load_config("db_name = x\n", {}, SecretRequirement::Optional);
  ASSERT_TRUE(result.config) << ::testing::PrintToString(result.errors);
  EXPECT_EQ(result.config->database.name, "x");
}

TEST(ConfigLoader, EnvironmentOverridesTheFile) {
  const std::string env_secret(40, 'e');
  const Environment env = {
      {"AUTHFCGI_SECRET_KEY", env_secret},
      {"AUTHFCGI_PREVIOUS_SECRET_KEYS", std::string(32, 'p')},
      {"AUTHFCGI_DB_HOST", "envhost"},
      {"AUTHFCGI_DB_PORT", "3310"},
      {"AUTHFCGI_DB_SOCKET", "/tmp/env.sock"},
      {"AUTHFCGI_DB_USER", "envuser"},
      {"AUTHFCGI_DB_PASSWORD", "envpass"},
      {"AUTHFCGI_DB_NAME", "envdb"},
      {"UNRELATED", "ignored"},
  };
  auto result = load_config("secret_key = short\ndb_host = filehost\n", env);
  ASSERT_TRUE(result.config) << ::testing::PrintToString(result.errors);
  const Config& c = *result.config;
  EXPECT_EQ(c.secret_key, env_secret);
  EXPECT_THAT(c.previous_secret_keys, ElementsAre(std::string(32, 'p')));
  EXPECT_EQ(c.database.host, "envhost");
  EXPECT_EQ(c.database.port, 3310U);
  EXPECT_EQ(c.database.unix_socket, "/tmp/env.sock");
  EXPECT_EQ(c.database.user, "envuser");
  EXPECT_EQ(c.database.password, "envpass");
  EXPECT_EQ(c.database.name, "envdb");
}

TEST(ConfigLoader, BadEnvironmentNumberNamesTheVariable) {
  auto result = load_config(kSecretLine, {{"AUTHFCGI_DB_PORT", "mysql"}});
  EXPECT_FALSE(result.config);
  EXPECT_THAT(result.errors, ElementsAre(HasSubstr("AUTHFCGI_DB_PORT")));
}

TEST(ConfigLoader, AllErrorsAreReportedAtOnce) {
  auto result = load_config("nope = 1\nthreads = many\n", {});
  EXPECT_FALSE(result.config);
  EXPECT_EQ(result.errors.size(), 3U);  // unknown key, bad number, missing secret
}

TEST(ConfigLoader, UnreadableFileIsAnError) {
  auto result = load_config_file("/nonexistent/authfcgi.conf", {});
  EXPECT_FALSE(result.config);
  EXPECT_THAT(result.errors, ElementsAre(HasSubstr("/nonexistent/authfcgi.conf")));
}

TEST(ConfigLoader, ExampleFileLoadsAndDocumentsEveryKey) {
  const std::string path = std::string(AUTHFCGI_SOURCE_DIR) + "/conf/authfcgi.conf.example";
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Every key is present, commented out with its default.
  for (const char* key :
       {"secret_key", "previous_secret_keys", "db_host", "db_port", "db_socket", "db_user",
        "db_password", "db_name", "session_max_age", "remember_max_age", "csrf_time_limit",
        "secure_cookies", "pwhash_opslimit", "pwhash_memlimit", "pwhash_max_concurrent",
        "templates_dir", "sql_dir", "listen", "threads"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# ") + key + " =")) << key;
  }
  auto result = load_config_file(path, {}, SecretRequirement::Optional);
  EXPECT_TRUE(result.config) << ::testing::PrintToString(result.errors);
  EXPECT_THAT(result.errors, IsEmpty());
}

TEST(ConfigLoader, ThrottleDefaultsAreTheSpecs) {
  auto result = load_config(kSecretLine, {});
  ASSERT_TRUE(result.config);
  const auto& throttle = result.config->throttle;
  EXPECT_EQ(throttle.pair.max_failures, 5);
  EXPECT_EQ(throttle.pair.base_delay_seconds, 60);
  EXPECT_EQ(throttle.pair.max_delay_seconds, 900);
  EXPECT_EQ(throttle.stuffing.max_failures, 100);
  EXPECT_EQ(throttle.stuffing.window_seconds, 86400);
  EXPECT_EQ(throttle.distributed.max_failures, 50);
  EXPECT_EQ(throttle.distributed.window_seconds, 3600);
  EXPECT_EQ(throttle.device_max_failures, 5);
  EXPECT_EQ(throttle.device_max_age_seconds, 365 * 86400);
  EXPECT_THAT(result.warnings, IsEmpty());
}

TEST(ConfigLoader, ThrottleKeysSetTheirOwnLimits) {
  auto result = load_config(kSecretLine +
                                "throttle_pair_max_failures = 3\n"
                                "throttle_pair_base_delay = 7\n"
                                "throttle_pair_max_delay = 70\n"
                                "throttle_pair_window = 700\n"
                                "throttle_stuffing_max_failures = 9\n"
                                "throttle_stuffing_window = 900\n"
                                "throttle_distributed_max_failures = 11\n"
                                "throttle_distributed_window = 1100\n"
                                "throttle_device_max_failures = 2\n"
                                "device_max_age = 86400\n"
                                "throttle_burst_wait = 0\n",
                            {});
  ASSERT_TRUE(result.config) << ::testing::PrintToString(result.errors);
  const auto& throttle = result.config->throttle;
  EXPECT_EQ(throttle.pair.max_failures, 3);
  EXPECT_EQ(throttle.pair.base_delay_seconds, 7);
  EXPECT_EQ(throttle.pair.max_delay_seconds, 70);
  EXPECT_EQ(throttle.pair.window_seconds, 700);
  EXPECT_EQ(throttle.stuffing.max_failures, 9);
  EXPECT_EQ(throttle.stuffing.window_seconds, 900);
  EXPECT_EQ(throttle.distributed.max_failures, 11);
  EXPECT_EQ(throttle.distributed.window_seconds, 1100);
  EXPECT_EQ(throttle.device_max_failures, 2);
  EXPECT_EQ(throttle.device_max_age_seconds, 86400);
  EXPECT_EQ(throttle.burst_wait_seconds, 0);
  EXPECT_THAT(result.warnings, IsEmpty());
  EXPECT_FALSE(load_config(kSecretLine + "throttle_pair_base_delay = 0\n", {}).config);
  EXPECT_FALSE(load_config(kSecretLine + "throttle_burst_wait = 61\n", {}).config);
}

TEST(ConfigLoader, OldThrottleKeysStillWorkWithOneWarningLine) {
  auto result = load_config(kSecretLine +
                                "throttle_account_max_failures = 3\n"
                                "throttle_address_max_failures = 9\n"
                                "throttle_base_delay = 7\n"
                                "throttle_max_delay = 70\n"
                                "throttle_forget_after = 700\n",
                            {});
  ASSERT_TRUE(result.config) << ::testing::PrintToString(result.errors);
  const auto& throttle = result.config->throttle;
  EXPECT_EQ(throttle.pair.max_failures, 3);
  EXPECT_EQ(throttle.stuffing.max_failures, 9);
  EXPECT_EQ(throttle.pair.base_delay_seconds, 7);
  EXPECT_EQ(throttle.pair.max_delay_seconds, 70);
  EXPECT_EQ(throttle.pair.window_seconds, 700);
  ASSERT_EQ(result.warnings.size(), 1U);
  EXPECT_THAT(result.warnings[0],
              HasSubstr("throttle_account_max_failures (now throttle_pair_max_failures)"));
  EXPECT_THAT(result.warnings[0],
              HasSubstr("throttle_address_max_failures (now throttle_stuffing_max_failures)"));
}

TEST(ConfigLoader, AnOldAndANewNameForOneSettingIsAnError) {
  auto result = load_config(kSecretLine +
                                "throttle_account_max_failures = 3\n"
                                "throttle_pair_max_failures = 4\n",
                            {});
  EXPECT_FALSE(result.config);
  EXPECT_THAT(::testing::PrintToString(result.errors), HasSubstr("set twice"));
}

}  // namespace
}  // namespace authfcgi::config

namespace authfcgi::config {
namespace {

TEST(ConfigLoaderMail, ReadsTheMailKeysWithTheirDefaults) {
  const auto defaults = load_config(kSecretLine, {});
  ASSERT_TRUE(defaults.config);
  EXPECT_FALSE(defaults.config->registration_open);
  EXPECT_EQ(defaults.config->mail.from, "Flasky Admin <flasky@example.com>");
  EXPECT_EQ(defaults.config->mail.subject_prefix, "[Flasky]");
  EXPECT_TRUE(defaults.config->mail.smtp_url.empty());
  const auto loaded = load_config(kSecretLine +
                                      "registration = open\n"
                                      "public_url = https://login.example.com/\n"
                                      "smtp_url = smtp://127.0.0.1:2525\n"
                                      "smtp_user = mailer\n"
                                      "smtp_require_tls = true\n"
                                      "mail_retry_min = 5\n",
                                  {{"AUTHFCGI_SMTP_PASSWORD", "from-the-environment"}});
  ASSERT_TRUE(loaded.config) << ::testing::PrintToString(loaded.errors);
  EXPECT_TRUE(loaded.config->registration_open);
  EXPECT_EQ(loaded.config->public_url, "https://login.example.com") << "no trailing slash";
  EXPECT_EQ(loaded.config->mail.smtp_password, "from-the-environment");
  EXPECT_TRUE(loaded.config->mail.smtp_require_tls);
  EXPECT_EQ(loaded.config->mail.retry_min_seconds, 5);
  EXPECT_FALSE(loaded.config->log_json);
  const auto json = load_config(kSecretLine + "log_format = json\n", {});
  ASSERT_TRUE(json.config);
  EXPECT_TRUE(json.config->log_json);
}

TEST(ConfigLoaderStatus, TheStatusPageIsOffUnlessEnabled) {
  const auto plain = load_config(kSecretLine, {});
  ASSERT_TRUE(plain.config);
  EXPECT_FALSE(plain.config->status_enabled);
  const auto enabled = load_config(kSecretLine + "status_enabled = true\n", {});
  ASSERT_TRUE(enabled.config);
  EXPECT_TRUE(enabled.config->status_enabled);
  const auto bad = load_config(kSecretLine + "status_enabled = sure\n", {});
  EXPECT_FALSE(bad.config);
}

TEST(ConfigLoaderStatus, StatusAllowTakesIpAddressesOnly) {
  const auto allowed =
      load_config(kSecretLine + "status_allow = 192.0.2.10, 2001:DB8::7, ::ffff:10.0.0.1\n", {});
  ASSERT_TRUE(allowed.config) << ::testing::PrintToString(allowed.errors);
  EXPECT_EQ(allowed.config->status_allow,
            (std::vector<std::string>{"192.0.2.10", "2001:db8::7", "10.0.0.1"}));
  for (const char* bad : {"status_allow = 192.0.2.0/24\n", "status_allow = monitor.example\n"}) {
    const auto refused = load_config(kSecretLine + bad, {});
    EXPECT_FALSE(refused.config) << bad;
  }
}

TEST(ConfigLoaderMail, RefusesWhatWouldBreakMailOrItsLinks) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"registration = open\n", "needs public_url"},
      {"registration = maybe\n", "expected open or closed"},
      {"log_format = xml\n", "expected text or json"},
      {"smtp_url = smtp://127.0.0.1:25\n", "smtp_url needs public_url"},
      {"public_url = https://\n", "expected https://"},
      {"public_url = https:///path\n", "expected https://"},
      {"public_url = login.example.com\n", "expected https://"},
      {"public_url = https://a.example/\"><script>\n", "expected https://"},
      {"smtp_url = http://mail.example.com\n", "expected smtp://"},
      // A line break ends the value: the rest is a line of its own, and no key.
      {"mail_from = Flasky <x@example.com>\r\nBcc: evil@example.com\n", "expected 'key = value'"},
      {"mail_from = Flasky\x01 <x@example.com>\n", "printable ASCII"},
      {"mail_subject_prefix = [Fl\xc3\xa4sky]\n", "printable ASCII"},
  };
  for (const auto& [lines, message] : bad) {
    const auto result = load_config(kSecretLine + lines, {});
    EXPECT_FALSE(result.config) << lines;
    EXPECT_THAT(::testing::PrintToString(result.errors), HasSubstr(message)) << lines;
  }
}

}  // namespace
}  // namespace authfcgi::config
