#pragma once

#include <cstdint>
#include <string>

#include "domain/mail.h"

namespace authfcgi::mail {

struct SmtpSettings {
  std::string url;   // smtp://host:port (STARTTLS when offered) or smtps://host:port
  std::string user;  // empty: no AUTH
  std::string password;
  bool require_tls = false;  // refuse to send unless the connection is encrypted (STARTTLS)
  std::string ca_file;       // empty: the system's trust store
  std::string from = "Flasky Admin <flasky@example.com>";  // the From header; its address is
                                                           // the envelope sender
  std::int64_t timeout_seconds = 30;
};

// domain::MailSender with libcurl's SMTP: one connection per mail, STARTTLS when the server
// offers it (or required), AUTH when a user is configured, a multipart/alternative message of
// the text and the HTML part, each quoted-printable (no line over 76 characters). Every header
// value is checked for CR/LF first: nothing a user typed can add a header. One instance per
// thread.
class CurlSmtpSender final : public domain::MailSender {
 public:
  explicit CurlSmtpSender(SmtpSettings settings);
  void send(const domain::MailMessage& message) override;

 private:
  SmtpSettings settings_;
};

// libcurl's global set-up: once, in main, before any thread sends. Throws std::runtime_error.
void init_curl();

// The address inside "Name <address>" (or the whole text when there are no angle brackets).
[[nodiscard]] std::string address_of(const std::string& mailbox);

}  // namespace authfcgi::mail
