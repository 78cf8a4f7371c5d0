#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "domain/auth_settings.h"
#include "storage/database_settings.h"

namespace authfcgi::config {

// The database keys; storage takes them as they are.
using DatabaseConfig = storage::DatabaseSettings;

using SessionConfig = domain::SessionSettings;

struct PwhashConfig {
  std::uint64_t opslimit = 2;       // crypto_pwhash_OPSLIMIT_INTERACTIVE
  std::size_t memlimit = 67108864;  // crypto_pwhash_MEMLIMIT_INTERACTIVE (64 MiB)
  unsigned max_concurrent = 0;      // 0: one per core
};

// Login throttling: per account, and more loosely per client address.
using ThrottleConfig = domain::ThrottleSettings;

// Self-service accounts' mail (SMTP through libcurl) and links.
struct MailConfig {
  std::string smtp_url;  // smtp://host:port or smtps://host:port; empty: mails wait in the outbox
  std::string smtp_user;
  std::string smtp_password;
  bool smtp_require_tls = false;
  std::string smtp_ca_file;
  std::string from = "Flasky Admin <flasky@example.com>";
  std::string subject_prefix = "[Flasky]";
  std::int64_t retry_min_seconds = 60;
  std::int64_t retry_max_seconds = 3600;
};

// Every option with its default; see conf/authfcgi.conf.example.
struct Config {
  std::string secret_key;  // at least 32 bytes
  std::vector<std::string> previous_secret_keys;
  DatabaseConfig database;
  SessionConfig session;
  PwhashConfig pwhash;
  ThrottleConfig throttle;
  std::string templates_dir = "/usr/share/authfcgi/templates";
  std::string sql_dir = "/usr/share/authfcgi/sql";  // migrations, for authctl db migrate
  std::string listen;  // empty: the socket on fd 0 (spawn-fcgi); else a path or host:port
  unsigned threads = 4;
  MailConfig mail;
  std::string public_url;  // https://login.example.com: the links in mails (never the Host)
  bool registration_open = false;
  bool log_json = false;                  // log_format = json: the auth event lines as JSON objects
  bool status_enabled = false;            // /auth/status and /auth/ping answer (else 404)
  std::vector<std::string> status_allow;  // client addresses besides loopback that may ask
};

}  // namespace authfcgi::config
