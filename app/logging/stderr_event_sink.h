#pragma once

#include <iostream>
#include <mutex>
#include <ostream>
#include <string>

#include "domain/auth_event_sink.h"

namespace authfcgi::logging {

// How an auth event line looks (the configuration's log_format).
enum class LogFormat { Text, Json };

// One line per auth event, as text:
//   2024-05-01T12:00:00Z event=login_failed client=203.0.113.7 account=ann@example.com
// (field values have spaces, control and non-ASCII bytes escaped as \xHH, so a crafted email
// cannot add fields or lines), or as one JSON object:
//   {"time":"2024-05-01T12:00:00Z","event":"login_failed","client":"203.0.113.7","account":"ann@example.com"}
// (strings escaped as JSON: every control and non-ASCII character as \uXXXX, so the line is
// ASCII and one line). No password, token or cookie is ever a field. Thread-safe: each line is
// written in one piece under a mutex.
class StderrEventSink final : public domain::AuthEventSink {
 public:
  explicit StderrEventSink(std::ostream& out = std::cerr, LogFormat format = LogFormat::Text)
      : out_(out), format_(format) {}

  void record(const domain::AuthEvent& event) override;

  // The line for one event, without the trailing newline (exposed for tests).
  [[nodiscard]] static std::string format(const domain::AuthEvent& event);
  [[nodiscard]] static std::string format_json(const domain::AuthEvent& event);

 private:
  std::mutex mutex_;
  std::ostream& out_;
  LogFormat format_;
};

}  // namespace authfcgi::logging
