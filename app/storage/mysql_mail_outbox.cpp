#include "storage/mysql_mail_outbox.h"

#include <memory>
#include <string>

#include "storage/batch_delete.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr std::size_t kMaxErrorBytes = 255;

std::int64_t count(MysqlConnection& connection, const std::string& sql_text, std::string_view key,
                   domain::MailKind kind, std::int64_t since) {
  std::int64_t found = 0;
  connection.with_statement(sql_text, [&](sql::PreparedStatement& statement) {
    statement.setString(1, std::string(key));
    statement.setInt(2, static_cast<int>(kind));
    statement.setInt64(3, since);
    const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
    found = rows->next() ? rows->getInt64(1) : 0;
  });
  return found;
}

}  // namespace

void MysqlMailOutbox::enqueue(const domain::MailMessage& message, domain::MailKind kind,
                              std::string_view client_network, std::int64_t now) {
  connection_.with_statement(
      "INSERT INTO mail_outbox (recipient, kind, client_network, subject, text_body, html_body, "
      "created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, message.to);
        statement.setInt(2, static_cast<int>(kind));
        statement.setString(3, std::string(client_network));
        statement.setString(4, message.subject);
        statement.setString(5, message.text);
        statement.setString(6, message.html);
        statement.setInt64(7, now);
        statement.setInt64(8, now);
        statement.executeUpdate();
      });
}

std::optional<domain::QueuedMail> MysqlMailOutbox::claim_due(std::int64_t now,
                                                             std::int64_t lease_seconds) {
  // The oldest due mail, then a compare-and-swap on its next_attempt_at: of several processes
  // that saw it, one moves it past the lease and sends it.
  for (int round = 0; round < 3; ++round) {
    std::int64_t id = 0;
    std::int64_t due_at = 0;
    connection_.with_statement(
        "SELECT id, next_attempt_at FROM mail_outbox WHERE sent_at IS NULL AND "
        "next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1",
        [&](sql::PreparedStatement& statement) {
          statement.setInt64(1, now);
          const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
          if (rows->next()) {
            id = rows->getInt64(1);
            due_at = rows->getInt64(2);
          }
        });
    if (id == 0) {
      return std::nullopt;
    }
    int claimed = 0;
    connection_.with_statement(
        "UPDATE mail_outbox SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ? AND "
        "sent_at IS NULL",
        [&](sql::PreparedStatement& statement) {
          statement.setInt64(1, now + lease_seconds);
          statement.setInt64(2, id);
          statement.setInt64(3, due_at);
          claimed = statement.executeUpdate();
        });
    if (claimed == 0) {
      continue;  // another process took it first
    }
    std::optional<domain::QueuedMail> mail;
    connection_.with_statement(
        "SELECT recipient, subject, text_body, html_body, attempts, kind, client_network FROM "
        "mail_outbox WHERE id = ?",
        [&](sql::PreparedStatement& statement) {
          statement.setInt64(1, id);
          const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
          if (rows->next()) {
            domain::QueuedMail found;
            found.id = id;
            found.message = {rows->getString(1), rows->getString(2), rows->getString(3),
                             rows->getString(4)};
            found.attempts = static_cast<std::uint32_t>(rows->getUInt(5));
            found.kind = static_cast<domain::MailKind>(rows->getInt(6));
            found.client_network = rows->getString(7);
            mail = std::move(found);
          }
        });
    if (mail) {
      return mail;
    }
  }
  return std::nullopt;
}

void MysqlMailOutbox::mark_sent(std::int64_t id, std::int64_t now) {
  connection_.with_statement(
      // The links in a sent mail still work for a while: the row keeps no copy of them.
      "UPDATE mail_outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL, "
      "text_body = '', html_body = '' WHERE id = ?",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, now);
        statement.setInt64(2, id);
        statement.executeUpdate();
      });
}

void MysqlMailOutbox::retry_later(std::int64_t id, std::int64_t next_attempt_at,
                                  std::string_view error) {
  connection_.with_statement(
      "UPDATE mail_outbox SET next_attempt_at = ?, attempts = attempts + 1, last_error = ?, "
      "text_body = IF(? = ?, '', text_body), html_body = IF(? = ?, '', html_body) WHERE id = ?",
      [&](sql::PreparedStatement& statement) {
        // A mail given up keeps no copy of its links either.
        statement.setInt64(1, next_attempt_at);
        statement.setString(2, std::string(error.substr(0, kMaxErrorBytes)));
        statement.setInt64(3, next_attempt_at);
        statement.setInt64(4, domain::MailOutbox::kNeverAgain);
        statement.setInt64(5, next_attempt_at);
        statement.setInt64(6, domain::MailOutbox::kNeverAgain);
        statement.setInt64(7, id);
        statement.executeUpdate();
      });
}

std::int64_t MysqlMailOutbox::count_for_recipient(std::string_view recipient, domain::MailKind kind,
                                                  std::int64_t since) {
  return count(connection_,
               "SELECT COUNT(*) FROM mail_outbox WHERE recipient = ? AND kind = ? AND "
               "created_at >= ?",
               recipient, kind, since);
}

std::int64_t MysqlMailOutbox::count_from_network(std::string_view client_network,
                                                 domain::MailKind kind, std::int64_t since) {
  return count(connection_,
               "SELECT COUNT(*) FROM mail_outbox WHERE client_network = ? AND kind = ? AND "
               "created_at >= ?",
               client_network, kind, since);
}

std::size_t MysqlMailOutbox::prune(std::int64_t before, std::size_t max_rows) {
  // Sent, or given up on (never tried again): a mail still to deliver stays, however old.
  const std::string done = "created_at < ? AND (sent_at IS NOT NULL OR next_attempt_at = " +
                           std::to_string(domain::MailOutbox::kNeverAgain) + ")";
  return delete_matching(connection_, "mail_outbox", "id", KeyType::Number, done, before, max_rows);
}

domain::MailBacklog MysqlMailOutbox::backlog() {
  domain::MailBacklog backlog;
  connection_.with_statement(
      "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM mail_outbox "
      "WHERE sent_at IS NULL AND next_attempt_at < ?",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, domain::MailOutbox::kNeverAgain);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        if (rows->next()) {
          backlog.queued = rows->getInt64(1);
          backlog.oldest_created_at = rows->getInt64(2);
        }
      });
  return backlog;
}

void MysqlTransactions::run(const std::function<void()>& work) {
  MysqlConnection::Transaction transaction(connection_);
  work();
  transaction.commit();
}

}  // namespace authfcgi::storage
