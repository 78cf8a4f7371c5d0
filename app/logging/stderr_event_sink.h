#pragma once

#include <iostream>
#include <mutex>
#include <ostream>
#include <string>

#include "domain/auth_event_sink.h"

namespace authfcgi::logging {

// One line per auth event:
//   2024-05-01T12:00:00Z event=login_failed client=203.0.113.7 account=ann@example.com
// Field values have spaces, control and non-ASCII bytes escaped as \xHH, so a crafted email
// cannot add fields or lines. Thread-safe: each line is written in one piece under a mutex.
class StderrEventSink final : public domain::AuthEventSink {
 public:
  explicit StderrEventSink(std::ostream& out = std::cerr) : out_(out) {}

  void record(const domain::AuthEvent& event) override;

  // The line for one event, without the trailing newline (exposed for tests).
  [[nodiscard]] static std::string format(const domain::AuthEvent& event);

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

}  // namespace authfcgi::logging
