#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/auth_event_sink.h"

namespace authfcgi::domain {

// What the pool counts besides requests: the auth events and the gateway's answers.
enum class PoolEvent : std::uint8_t {
  LoginOk,
  LoginFailed,
  LoginThrottled,
  RememberRestore,
  VerifyAllowed,    // the gateway let a request through
  VerifyLogin,      // ... sent it to the login page (nobody logged in)
  VerifyForbidden,  // ... refused it (403: not in the groups, or unconfirmed)
  DatabaseError,    // a request answered 503 because the database was unavailable
};
inline constexpr std::size_t kPoolEventCount = 8;

// Requests by the first digit of their status: 1xx .. 5xx.
inline constexpr std::size_t kStatusClassCount = 5;

// The whole pool behind one socket (every worker process), since the pool started: what
// /auth/status shows.
struct PoolStatus {
  std::string pool;  // the socket: a path or host:port
  std::int64_t start_time = 0;
  std::uint64_t processes = 0;  // live worker processes
  std::uint64_t threads = 0;    // their worker threads
  std::uint64_t active_threads = 0;
  std::uint64_t max_active_threads = 0;
  std::uint64_t accepted = 0;
  std::array<std::uint64_t, kStatusClassCount> responses{};
  std::array<std::uint64_t, kPoolEventCount> events{};
  [[nodiscard]] std::uint64_t event(PoolEvent which) const {
    return events[static_cast<std::size_t>(which)];
  }
};

// Counts pool events. Thread-safe and cheap (an atomic increment); never throws.
class PoolMeter {
 public:
  virtual ~PoolMeter() = default;
  virtual void count(PoolEvent event) noexcept = 0;
};

// Reads the pool's counters. Thread-safe.
class PoolStatusSource {
 public:
  virtual ~PoolStatusSource() = default;
  [[nodiscard]] virtual PoolStatus read() const = 0;
};

// Counts the auth events it passes on (the log sink stays the one place they are written).
class CountingEventSink : public AuthEventSink {
 public:
  CountingEventSink(AuthEventSink& next, PoolMeter& meter) : next_(next), meter_(meter) {}
  void record(const AuthEvent& event) override {
    switch (event.kind) {
      case AuthEventKind::LoginOk:
        meter_.count(PoolEvent::LoginOk);
        break;
      case AuthEventKind::LoginFailed:
        meter_.count(PoolEvent::LoginFailed);
        break;
      case AuthEventKind::LoginThrottled:
        meter_.count(PoolEvent::LoginThrottled);
        break;
      case AuthEventKind::RememberTokenUsed:
        meter_.count(PoolEvent::RememberRestore);
        break;
      case AuthEventKind::Logout:
      case AuthEventKind::RememberTokenRejected:
      case AuthEventKind::RememberTokenReused:
        break;
    }
    next_.record(event);
  }

 private:
  AuthEventSink& next_;
  PoolMeter& meter_;
};

}  // namespace authfcgi::domain
