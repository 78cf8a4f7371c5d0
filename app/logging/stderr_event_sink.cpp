#include "logging/stderr_event_sink.h"

#include <cstdint>
#include <ctime>
#include <string_view>

#include "util/json.h"

namespace authfcgi::logging {
namespace {

std::string_view event_name(domain::AuthEventKind kind) {
  switch (kind) {
    case domain::AuthEventKind::LoginOk:
      return "login_ok";
    case domain::AuthEventKind::LoginFailed:
      return "login_failed";
    case domain::AuthEventKind::LoginThrottled:
      return "login_throttled";
    case domain::AuthEventKind::Logout:
      return "logout";
    case domain::AuthEventKind::RememberTokenUsed:
      return "remember_token_used";
    case domain::AuthEventKind::RememberTokenRejected:
      return "remember_token_rejected";
    case domain::AuthEventKind::RememberTokenReused:
      return "remember_token_reused";
  }
  return "unknown";
}

std::string iso8601_utc(std::int64_t unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  if (gmtime_r(&seconds, &parts) == nullptr) {
    return "1970-01-01T00:00:00Z";
  }
  char text[32];
  const auto length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(text, length);
}

// Values come from the request (the typed email, the peer address): anything that could end
// a field or a line, or confuse a terminal, is written as \xHH. A backslash is escaped too, so
// an attacker cannot type a literal "\x0a" that reads like our own escape.
std::string escape_value(std::string_view value) {
  if (value.empty()) {
    return "-";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '\\' || c == '"') {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string StderrEventSink::format_json(const domain::AuthEvent& event) {
  std::string line = "{\"time\":";
  line += util::json_string(iso8601_utc(event.time));
  line += ",\"event\":";
  line += util::json_string(event_name(event.kind));
  line += ",\"client\":";
  line += util::json_string(event.client_address);
  line += ",\"account\":";
  line += util::json_string(event.account);
  line += '}';
  return line;
}

std::string StderrEventSink::format(const domain::AuthEvent& event) {
  std::string line = iso8601_utc(event.time);
  line += " event=";
  line += event_name(event.kind);
  line += " client=";
  line += escape_value(event.client_address);
  line += " account=";
  line += escape_value(event.account);
  return line;
}

void StderrEventSink::record(const domain::AuthEvent& event) {
  auto line = format_ == LogFormat::Json ? format_json(event) : format(event);
  line += '\n';
  const std::lock_guard lock(mutex_);
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
}

}  // namespace authfcgi::logging
