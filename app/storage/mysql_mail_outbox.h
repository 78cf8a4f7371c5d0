#pragma once

#include "domain/mail.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// domain::MailOutbox on the table mail_outbox (sql/006_accounts.sql).
class MysqlMailOutbox final : public domain::MailOutbox {
 public:
  explicit MysqlMailOutbox(MysqlConnection& connection) : connection_(connection) {}

  void enqueue(const domain::MailMessage& message, domain::MailKind kind,
               std::string_view client_network, std::int64_t now) override;
  std::optional<domain::QueuedMail> claim_due(std::int64_t now,
                                              std::int64_t lease_seconds) override;
  void mark_sent(std::int64_t id, std::int64_t now) override;
  void retry_later(std::int64_t id, std::int64_t next_attempt_at, std::string_view error) override;
  std::int64_t count_for_recipient(std::string_view recipient, domain::MailKind kind,
                                   std::int64_t since) override;
  std::int64_t count_from_network(std::string_view client_network, domain::MailKind kind,
                                  std::int64_t since) override;
  domain::MailBacklog backlog() override;
  std::size_t prune(std::int64_t before, std::size_t max_rows) override;

 private:
  MysqlConnection& connection_;
};

// domain::Transactions on one connection: the repositories that share it write inside.
class MysqlTransactions final : public domain::Transactions {
 public:
  explicit MysqlTransactions(MysqlConnection& connection) : connection_(connection) {}
  void run(const std::function<void()>& work) override;

 private:
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
