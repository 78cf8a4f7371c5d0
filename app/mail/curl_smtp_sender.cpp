#include "mail/curl_smtp_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <utility>

#include "util/strings.h"

namespace authfcgi::mail {
namespace {

struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct MimeDeleter {
  void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Mime = std::unique_ptr<curl_mime, MimeDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

// Headers carry printable ASCII only: the subjects are our own texts and the addresses are
// ASCII when stored. A line break would be a header injection: such a mail is never sent and
// never tried again.
void check_header(const std::string& name, const std::string& value) {
  const bool printable = std::all_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
  if (!printable) {
    throw domain::MailSendError(name + " is not printable ASCII", true);
  }
}

void append(List& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) {
    throw domain::MailSendError("out of memory", false);
  }
  (void)list.release();
  list.reset(grown);
}

std::string rfc5322_date() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 64> text{};
  const std::size_t size =
      std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return {text.data(), size};
}

std::string message_id(const std::string& from_address) {
  const auto at = from_address.rfind('@');
  const std::string domain = at == std::string::npos ? "localhost" : from_address.substr(at + 1);
  std::array<unsigned char, 16> random{};
  std::array<char, 33> hex{};
  // Unique enough and unpredictable: time and the address of a stack object would repeat.
  std::FILE* source = std::fopen("/dev/urandom", "rb");
  if (source != nullptr) {
    (void)std::fread(random.data(), 1, random.size(), source);
    std::fclose(source);
  }
  constexpr std::string_view kDigits = "0123456789abcdef";
  for (std::size_t i = 0; i < random.size(); ++i) {
    hex[2 * i] = kDigits[random[i] >> 4U];
    hex[2 * i + 1] = kDigits[random[i] & 0x0FU];
  }
  return "<" + std::string(hex.data(), 32) + "@" + domain + ">";
}

}  // namespace

std::string address_of(const std::string& mailbox) {
  const auto open = mailbox.rfind('<');
  const auto close = mailbox.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    return mailbox.substr(open + 1, close - open - 1);
  }
  return std::string(util::trim(mailbox));
}

void init_curl() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw std::runtime_error("curl_global_init failed");
  }
}

CurlSmtpSender::CurlSmtpSender(SmtpSettings settings) : settings_(std::move(settings)) {}

void CurlSmtpSender::send(const domain::MailMessage& message) {
  check_header("the recipient", message.to);
  check_header("the subject", message.subject);
  check_header("mail_from", settings_.from);
  const std::string from_address = address_of(settings_.from);

  Easy curl(curl_easy_init());
  if (!curl) {
    throw domain::MailSendError("curl_easy_init failed", false);
  }
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, settings_.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // With a login, never in clear: a network attacker who strips STARTTLS would read the SMTP
  // password and the links.
  const bool must_encrypt = settings_.require_tls || !settings_.user.empty();
  curl_easy_setopt(
      handle, CURLOPT_USE_SSL,
      must_encrypt ? static_cast<long>(CURLUSESSL_ALL) : static_cast<long>(CURLUSESSL_TRY));
  if (!settings_.ca_file.empty()) {
    curl_easy_setopt(handle, CURLOPT_CAINFO, settings_.ca_file.c_str());
  }
  if (!settings_.user.empty()) {
    curl_easy_setopt(handle, CURLOPT_USERNAME, settings_.user.c_str());
    curl_easy_setopt(handle, CURLOPT_PASSWORD, settings_.password.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_MAIL_FROM, ("<" + from_address + ">").c_str());
  List recipients;
  append(recipients, "<" + message.to + ">");
  curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(settings_.timeout_seconds));
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);

  List headers;
  append(headers, "Date: " + rfc5322_date());
  append(headers, "From: " + settings_.from);
  append(headers, "To: <" + message.to + ">");
  append(headers, "Subject: " + message.subject);
  append(headers, "Message-ID: " + message_id(from_address));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());

  // multipart/mixed (curl's top level) holding one multipart/alternative: text, then HTML.
  Mime mime(curl_mime_init(handle));
  Mime alternative(curl_mime_init(handle));
  curl_mimepart* text = curl_mime_addpart(alternative.get());
  curl_mime_data(text, message.text.data(), message.text.size());
  curl_mime_type(text, "text/plain; charset=utf-8");
  curl_mime_encoder(text, "quoted-printable");
  curl_mimepart* html = curl_mime_addpart(alternative.get());
  curl_mime_data(html, message.html.data(), message.html.size());
  curl_mime_type(html, "text/html; charset=utf-8");
  curl_mime_encoder(html, "quoted-printable");
  curl_mimepart* both = curl_mime_addpart(mime.get());
  curl_mime_subparts(both, alternative.release());  // the part owns it now
  curl_mime_type(both, "multipart/alternative");
  List part_headers;
  append(part_headers, "Content-Disposition: inline");
  curl_mime_headers(both, part_headers.release(), 1);
  curl_easy_setopt(handle, CURLOPT_MIMEPOST, mime.get());

  std::array<char, CURL_ERROR_SIZE> error{};
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error.data());
  const CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    long reply = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply);
    std::string what = error[0] != '\0' ? std::string(error.data()) : curl_easy_strerror(code);
    if (reply != 0) {
      what += " (SMTP " + std::to_string(reply) + ")";
    }
    // 5xx to the recipient or the data is the server's final word on this mail; a refused
    // login, a missing TLS, no connection, a 4xx or a timeout may pass.
    const bool permanent = reply >= 550 && reply < 560 && code != CURLE_LOGIN_DENIED;
    throw domain::MailSendError(what, permanent);
  }
}

}  // namespace authfcgi::mail
