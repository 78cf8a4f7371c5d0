#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/mail.h"

namespace authfcgi::testing {

// The outbox in memory, with the table's semantics (a claim moves next_attempt_at past the
// lease; sent rows stay until pruned).
class FakeMailOutbox : public domain::MailOutbox {
 public:
  struct Row {
    std::int64_t id;
    domain::MailMessage message;
    domain::MailKind kind;
    std::string client_network;
    std::int64_t created_at;
    std::int64_t next_attempt_at;
    std::uint32_t attempts = 0;
    std::optional<std::int64_t> sent_at;
    std::string last_error;
  };

  void enqueue(const domain::MailMessage& message, domain::MailKind kind,
               std::string_view client_network, std::int64_t now) override {
    rows.push_back({next_id++, message, kind, std::string(client_network), now, now, 0,
                    std::nullopt, std::string()});
  }
  std::optional<domain::QueuedMail> claim_due(std::int64_t now,
                                              std::int64_t lease_seconds) override {
    Row* due = nullptr;
    for (Row& row : rows) {
      if (!row.sent_at && row.next_attempt_at <= now &&
          (due == nullptr || row.next_attempt_at < due->next_attempt_at)) {
        due = &row;
      }
    }
    if (due == nullptr) {
      return std::nullopt;
    }
    due->next_attempt_at = now + lease_seconds;
    return domain::QueuedMail{due->id, due->message, due->attempts, due->kind, due->client_network};
  }
  domain::MailBacklog backlog() override {
    domain::MailBacklog backlog;
    for (const Row& row : rows) {
      if (!row.sent_at && row.next_attempt_at != kNeverAgain) {
        ++backlog.queued;
        if (backlog.oldest_created_at == 0 || row.created_at < backlog.oldest_created_at) {
          backlog.oldest_created_at = row.created_at;
        }
      }
    }
    return backlog;
  }
  void mark_sent(std::int64_t id, std::int64_t now) override {
    Row& row = find(id);
    row.sent_at = now;
    ++row.attempts;
  }
  void retry_later(std::int64_t id, std::int64_t next_attempt_at, std::string_view error) override {
    Row& row = find(id);
    row.next_attempt_at = next_attempt_at;
    row.last_error = std::string(error);
    ++row.attempts;
  }
  std::int64_t count_for_recipient(std::string_view recipient, domain::MailKind kind,
                                   std::int64_t since) override {
    return std::count_if(rows.begin(), rows.end(), [&](const Row& row) {
      return row.message.to == recipient && row.kind == kind && row.created_at >= since;
    });
  }
  std::int64_t count_from_network(std::string_view network, domain::MailKind kind,
                                  std::int64_t since) override {
    return std::count_if(rows.begin(), rows.end(), [&](const Row& row) {
      return row.client_network == network && row.kind == kind && row.created_at >= since;
    });
  }
  std::size_t prune(std::int64_t before, std::size_t max_rows) override {
    std::size_t erased = 0;
    std::erase_if(rows, [&](const Row& row) {
      if (erased < max_rows && row.created_at < before &&
          (row.sent_at || row.next_attempt_at == kNeverAgain)) {
        ++erased;
        return true;
      }
      return false;
    });
    return erased;
  }

  Row& find(std::int64_t id) {
    return *std::find_if(rows.begin(), rows.end(), [id](const Row& row) { return row.id == id; });
  }

  std::vector<Row> rows;
  std::int64_t next_id = 1;
};

// A mail server: keeps what it accepts; `down` refuses everything for now (4xx or no
// connection), `refuse` refuses that recipient for good (5xx).
class FakeMailSender : public domain::MailSender {
 public:
  void send(const domain::MailMessage& message) override {
    ++tries;
    if (down) {
      throw domain::MailSendError("connection refused", false);
    }
    if (message.to == refuse) {
      throw domain::MailSendError("550 no such mailbox", true);
    }
    delivered.push_back(message);
  }
  bool down = false;
  std::string refuse;
  int tries = 0;
  std::vector<domain::MailMessage> delivered;
};

// Runs the work; a throwing work leaves what it wrote (the fakes keep no undo log), which the
// tests that need atomicity check against the real database instead.
class FakeTransactions : public domain::Transactions {
 public:
  void run(const std::function<void()>& work) override {
    ++runs;
    work();
  }
  int runs = 0;
};

}  // namespace authfcgi::testing
