#include "logging/stderr_event_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace authfcgi::logging {
namespace {

using domain::AuthEvent;
using domain::AuthEventKind;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

TEST(StderrEventSink, WritesOneLineWithTimeEventClientAndAccount) {
  std::ostringstream out;
  StderrEventSink sink(out);
  sink.record(AuthEvent{AuthEventKind::LoginFailed, 1714564800, "203.0.113.7", "ann@example.com"});
  EXPECT_EQ(out.str(),
            "2024-05-01T12:00:00Z event=login_failed client=203.0.113.7 account=ann@example.com\n");
}

TEST(StderrEventSink, NamesEveryEventKind) {
  const std::pair<AuthEventKind, const char*> kinds[] = {
      {AuthEventKind::LoginOk, "event=login_ok "},
      {AuthEventKind::LoginFailed, "event=login_failed "},
      {AuthEventKind::LoginThrottled, "event=login_throttled "},
      {AuthEventKind::Logout, "event=logout "},
      {AuthEventKind::RememberTokenUsed, "event=remember_token_used "},
      {AuthEventKind::RememberTokenRejected, "event=remember_token_rejected "},
      {AuthEventKind::RememberTokenReused, "event=remember_token_reused "},
  };
  for (const auto& [kind, text] : kinds) {
    EXPECT_THAT(StderrEventSink::format(AuthEvent{kind, 0, "::1", "a@b.example"}), HasSubstr(text));
  }
}

TEST(StderrEventSink, CraftedAccountCannotForgeASecondLineOrField) {
  std::ostringstream out;
  StderrEventSink sink(out);
  sink.record(AuthEvent{AuthEventKind::LoginFailed, 0, "10.0.0.1",
                        "x@y.example\n1970-01-01T00:00:00Z event=login_ok client=1.2.3.4 "
                        "account=admin@example.com\r"});
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_THAT(lines[0], Not(HasSubstr(" event=login_ok")));
  EXPECT_THAT(lines[0], Not(HasSubstr(" client=1.2.3.4")));
  EXPECT_THAT(lines[0], Not(HasSubstr("\r")));
  EXPECT_THAT(lines[0], HasSubstr("account=x@y.example\\x0a1970"));
  EXPECT_THAT(lines[0], HasSubstr("\\x20event=login_ok\\x20"));
}

TEST(StderrEventSink, BackslashIsEscapedSoEscapesCannotBeFaked) {
  const auto line = StderrEventSink::format(AuthEvent{AuthEventKind::Logout, 0, "", "a\\x0a@b"});
  EXPECT_THAT(line, HasSubstr("account=a\\x5cx0a@b"));
  EXPECT_THAT(line, HasSubstr("client=-"));
}

TEST(StderrEventSink, ConcurrentEventsStayOnWholeLines) {
  std::ostringstream out;
  StderrEventSink sink(out);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&sink] {
      for (int i = 0; i < 200; ++i) {
        sink.record(AuthEvent{AuthEventKind::LoginOk, 0, "127.0.0.1", "user@example.com"});
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 800U);
  for (const auto& line : lines) {
    EXPECT_EQ(line,
              "1970-01-01T00:00:00Z event=login_ok client=127.0.0.1 account=user@example.com");
  }
}

}  // namespace
}  // namespace authfcgi::logging

namespace authfcgi::logging {
namespace {

TEST(StderrEventSinkJson, WritesOneJsonObjectPerLine) {
  std::ostringstream out;
  StderrEventSink sink(out, LogFormat::Json);
  sink.record(domain::AuthEvent{domain::AuthEventKind::LoginFailed, 1714564800, "203.0.113.7",
                                "ann@example.com"});
  EXPECT_EQ(out.str(),
            R"({"time":"2024-05-01T12:00:00Z","event":"login_failed","client":"203.0.113.7",)"
            R"("account":"ann@example.com"})"
            "\n");
}

TEST(StderrEventSinkJson, ACraftedAccountStaysOneStringOnOneAsciiLine) {
  // A quote, a backslash, a line break, an escape sequence, a right-to-left override and a
  // character beyond the BMP: each written as JSON escapes, never as itself.
  const std::string crafted =
      "a\"b\\c\n{\"event\":\"login_ok\"}\x1b[2J\xe2\x80\xae\xf0\x9f\x94\x91\xff";
  const std::string line = StderrEventSink::format_json(
      domain::AuthEvent{domain::AuthEventKind::LoginOk, 0, "", crafted});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_TRUE(std::all_of(line.begin(), line.end(), [](char c) {
    return c >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
  }));
  EXPECT_THAT(line, HasSubstr(R"("account":"a\"b\\c\u000a{\"event\":\"login_ok\"}\u001b[2J)"
                              R"(\u202e\ud83d\udd11\ufffd")"));
  EXPECT_THAT(line, HasSubstr(R"("event":"login_ok","client":"")")) << "the real event field";
}

}  // namespace
}  // namespace authfcgi::logging
