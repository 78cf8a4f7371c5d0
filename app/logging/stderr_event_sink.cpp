#include "logging/stderr_event_sink.h"

#include <cstdint>
#include <ctime>
#include <string_view>

#include "util/utf8.h"

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

// A JSON string (quotes included) with every character outside printable ASCII, and the quote
// and backslash, escaped; malformed UTF-8 becomes U+FFFD. The values are valid UTF-8 by the
// time they get here (the request reader refuses others), but a log line must never break.
std::string json_string(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const auto escape_unit = [&out](std::uint32_t unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
      out += kHex[(unit >> static_cast<unsigned>(shift)) & 0x0FU];
    }
  };
  std::size_t i = 0;
  while (i < value.size()) {
    const auto lead = static_cast<unsigned char>(value[i]);
    if (lead >= 0x20 && lead < 0x7F) {
      if (lead == '"' || lead == '\\') {
        out += '\\';
      }
      out += static_cast<char>(lead);
      ++i;
      continue;
    }
    if (lead < 0x80) {
      escape_unit(lead);
      ++i;
      continue;
    }
    const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    std::uint32_t code_point = 0xFFFD;
    std::size_t used = 1;
    if (i + length <= value.size() && util::is_valid_utf8(value.substr(i, length))) {
      code_point = length == 2 ? lead & 0x1FU : length == 3 ? lead & 0x0FU : lead & 0x07U;
      for (std::size_t k = 1; k < length; ++k) {
        code_point = (code_point << 6U) | (static_cast<unsigned char>(value[i + k]) & 0x3FU);
      }
      used = length;
    }
    if (code_point > 0xFFFF) {
      code_point -= 0x10000;
      escape_unit(0xD800 + (code_point >> 10U));
      escape_unit(0xDC00 + (code_point & 0x3FFU));
    } else {
      escape_unit(code_point);
    }
    i += used;
  }
  out += '"';
  return out;
}

}  // namespace

std::string StderrEventSink::format_json(const domain::AuthEvent& event) {
  std::string line = "{\"time\":";
  line += json_string(iso8601_utc(event.time));
  line += ",\"event\":";
  line += json_string(event_name(event.kind));
  line += ",\"client\":";
  line += json_string(event.client_address);
  line += ",\"account\":";
  line += json_string(event.account);
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
