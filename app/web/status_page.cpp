#include "web/status_page.h"

#include <array>
#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace authfcgi::web {
namespace {

using domain::PoolEvent;

struct Figures {
  const domain::PoolStatus& status;
  const std::optional<domain::MailBacklog>& backlog;
  std::int64_t now;

  [[nodiscard]] std::uint64_t idle() const {
    return status.threads > status.active_threads ? status.threads - status.active_threads : 0;
  }
  [[nodiscard]] std::int64_t since() const {
    return now > status.start_time ? now - status.start_time : 0;
  }
  [[nodiscard]] std::int64_t oldest_age() const {
    if (!backlog || backlog->queued == 0 || backlog->oldest_created_at > now) {
      return 0;
    }
    return now - backlog->oldest_created_at;
  }
};

constexpr std::array<std::string_view, domain::kStatusClassCount> kClasses{"1xx", "2xx", "3xx",
                                                                           "4xx", "5xx"};

std::string iso8601_utc(std::int64_t time) {
  const auto seconds = static_cast<std::time_t>(time);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return {text.data(), length};
}

// One figure of the page: its plain-text label, its JSON key, its value (nullopt: unknown,
// the outbox while the database is down).
struct Field {
  std::string_view label;
  std::string_view key;
  std::optional<std::uint64_t> value;
};

// The figures in the page's order; the responses by class come after the first `kHead`.
constexpr std::size_t kHead = 7;
std::vector<Field> fields(const Figures& f) {
  const auto& s = f.status;
  const auto event = [&s](PoolEvent which) { return std::optional(s.event(which)); };
  const auto mail = [&f](std::uint64_t value) {
    return f.backlog ? std::optional(value) : std::nullopt;
  };
  return {
      {"start since", "start_since", static_cast<std::uint64_t>(f.since())},
      {"processes", "processes", s.processes},
      {"threads", "threads", s.threads},
      {"accepted requests", "accepted_requests", s.accepted},
      {"active threads", "active_threads", s.active_threads},
      {"idle threads", "idle_threads", f.idle()},
      {"max active threads", "max_active_threads", s.max_active_threads},
      {"logins ok", "logins_ok", event(PoolEvent::LoginOk)},
      {"logins failed", "logins_failed", event(PoolEvent::LoginFailed)},
      {"logins throttled", "logins_throttled", event(PoolEvent::LoginThrottled)},
      {"remember-me restores", "remember_restores", event(PoolEvent::RememberRestore)},
      {"verify allowed", "verify_allowed", event(PoolEvent::VerifyAllowed)},
      {"verify login", "verify_login", event(PoolEvent::VerifyLogin)},
      {"verify forbidden", "verify_forbidden", event(PoolEvent::VerifyForbidden)},
      {"database errors", "database_errors", event(PoolEvent::DatabaseError)},
      {"mail queued", "mail_queued",
       mail(f.backlog ? static_cast<std::uint64_t>(f.backlog->queued) : 0)},
      {"mail oldest age", "mail_oldest_age", mail(static_cast<std::uint64_t>(f.oldest_age()))},
  };
}

void line(std::string& out, std::string_view name, const std::string& value) {
  out += name;
  out += ':';
  out.append(name.size() < 24 ? 24 - name.size() : 1, ' ');
  out += value;
  out += '\n';
}

std::string plain_text(const Figures& f) {
  const auto all = fields(f);
  std::string out;
  line(out, "pool", f.status.pool);
  line(out, "start time", iso8601_utc(f.status.start_time));
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i == kHead) {
      for (std::size_t c = 0; c < kClasses.size(); ++c) {
        line(out, std::string("responses ").append(kClasses[c]),
             std::to_string(f.status.responses[c]));
      }
    }
    line(out, all[i].label, all[i].value ? std::to_string(*all[i].value) : "unknown");
  }
  return out;
}

void member(std::string& out, std::string_view name, const std::string& json_value) {
  out += out.size() > 1 ? ",\n  " : "\n  ";
  out += '"';
  out += name;
  out += "\": ";
  out += json_value;
}

std::string json(const Figures& f) {
  const auto all = fields(f);
  std::string out = "{";
  member(out, "pool", util::json_string(f.status.pool));
  member(out, "start_time", std::to_string(f.status.start_time));
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i == kHead) {
      std::string classes = "{";
      for (std::size_t c = 0; c < kClasses.size(); ++c) {
        classes += c == 0 ? "\"" : ", \"";
        classes += kClasses[c];
        classes += "\": ";
        classes += std::to_string(f.status.responses[c]);
      }
      classes += '}';
      member(out, "responses", classes);
    }
    member(out, all[i].key, all[i].value ? std::to_string(*all[i].value) : "null");
  }
  out += "\n}\n";
  return out;
}

// OpenMetrics: one family per metric, counters' samples end in _total, "# EOF" last.
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::string_view unit = {}) {
  out += "# TYPE authfcgi_";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  if (!unit.empty()) {
    out += "# UNIT authfcgi_";
    out += name;
    out += ' ';
    out += unit;
    out += '\n';
  }
  out += "# HELP authfcgi_";
  out += name;
  out += ' ';
  out += help;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels,
            const std::string& value) {
  out += "authfcgi_";
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

// A label value: backslash, quote and newline escaped, as the format asks.
std::string label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string openmetrics(const Figures& f) {
  const auto& s = f.status;
  std::string out;
  family(out, "pool", "info", "The socket the pool listens on.");
  sample(out, "pool_info", std::string("socket=\"").append(label_value(s.pool)).append("\""), "1");
  family(out, "start_time_seconds", "gauge", "When the pool started (Unix time).", "seconds");
  sample(out, "start_time_seconds", {}, std::to_string(s.start_time));
  family(out, "processes", "gauge", "Live worker processes.");
  sample(out, "processes", {}, std::to_string(s.processes));
  family(out, "threads", "gauge", "Worker threads, by state.");
  sample(out, "threads", "state=\"active\"", std::to_string(s.active_threads));
  sample(out, "threads", "state=\"idle\"", std::to_string(f.idle()));
  family(out, "max_active_threads", "gauge", "The most threads active at once since the start.");
  sample(out, "max_active_threads", {}, std::to_string(s.max_active_threads));
  family(out, "accepted_requests", "counter", "Requests accepted.");
  sample(out, "accepted_requests_total", {}, std::to_string(s.accepted));
  family(out, "responses", "counter", "Requests answered, by status class.");
  for (std::size_t i = 0; i < kClasses.size(); ++i) {
    sample(out, "responses_total", std::string("class=\"").append(kClasses[i]).append("\""),
           std::to_string(s.responses[i]));
  }
  family(out, "logins", "counter", "Password logins, by outcome.");
  sample(out, "logins_total", "outcome=\"ok\"", std::to_string(s.event(PoolEvent::LoginOk)));
  sample(out, "logins_total", "outcome=\"failed\"",
         std::to_string(s.event(PoolEvent::LoginFailed)));
  sample(out, "logins_total", "outcome=\"throttled\"",
         std::to_string(s.event(PoolEvent::LoginThrottled)));
  family(out, "remember_restores", "counter", "Logins restored from a remember-me cookie.");
  sample(out, "remember_restores_total", {}, std::to_string(s.event(PoolEvent::RememberRestore)));
  family(out, "verify_answers", "counter", "The auth gateway's answers.");
  sample(out, "verify_answers_total", "answer=\"allowed\"",
         std::to_string(s.event(PoolEvent::VerifyAllowed)));
  sample(out, "verify_answers_total", "answer=\"login\"",
         std::to_string(s.event(PoolEvent::VerifyLogin)));
  sample(out, "verify_answers_total", "answer=\"forbidden\"",
         std::to_string(s.event(PoolEvent::VerifyForbidden)));
  family(out, "database_errors", "counter", "Requests answered 503: the database was unavailable.");
  sample(out, "database_errors_total", {}, std::to_string(s.event(PoolEvent::DatabaseError)));
  if (f.backlog) {
    family(out, "mail_queued", "gauge", "Mails waiting in the outbox.");
    sample(out, "mail_queued", {}, std::to_string(f.backlog->queued));
    family(out, "mail_oldest_age_seconds", "gauge", "The age of the oldest waiting mail.",
           "seconds");
    sample(out, "mail_oldest_age_seconds", {}, std::to_string(f.oldest_age()));
  }
  out += "# EOF\n";
  return out;
}

Response plain(std::string content_type, std::string body) {
  Response response;
  response.add_header("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

}  // namespace

Response status_page(const Request& request, const domain::PoolStatus& status,
                     const std::optional<domain::MailBacklog>& backlog, std::int64_t now) {
  const Figures figures{status, backlog, now};
  if (request.query.contains("openmetrics")) {
    return plain("application/openmetrics-text; version=1.0.0; charset=utf-8",
                 openmetrics(figures));
  }
  if (request.query.contains("json")) {
    return plain("application/json", json(figures));
  }
  return plain("text/plain; charset=utf-8", plain_text(figures));
}

Response ping_page() { return plain("text/plain; charset=utf-8", "pong\n"); }

}  // namespace authfcgi::web
