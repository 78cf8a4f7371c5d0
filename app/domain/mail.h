#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace authfcgi::domain {

// Which mail: the outbox keeps it, so the mail throttles can count one kind.
enum class MailKind : std::uint8_t {
  ConfirmAccount = 1,
  ResetPassword = 2,
  ConfirmNewEmail = 3,
  PasswordChanged = 4,
  EmailChanged = 5,
  RegistrationAttempt = 6,  // someone tried to register an address that has an account
  // Not a mail: a reset asked for an address, queued as it was typed whether or not it has an
  // account (the request costs the same either way); the delivery turns it into a
  // ResetPassword mail when the address has an account and the throttles allow.
  ResetRequest = 7,
};

// One mail as it will be sent: the recipient (the stored address), the subject with its
// prefix, and the two parts.
struct MailMessage {
  std::string to;
  std::string subject;
  std::string text;
  std::string html;

  bool operator==(const MailMessage&) const = default;
};

struct QueuedMail {
  std::int64_t id = 0;
  MailMessage message;
  std::uint32_t attempts = 0;  // tries before this one
  MailKind kind = MailKind::ConfirmAccount;
  std::string client_network;
};

// The mails waiting to be delivered (not sent, not given up), for /auth/status.
struct MailBacklog {
  std::int64_t queued = 0;
  std::int64_t oldest_created_at = 0;  // 0 when none waits
};

// The outbox table: written in the transaction of the change that causes a mail, read by the
// delivery off the request path. One instance per thread; throws StorageUnavailable.
class MailOutbox {
 public:
  virtual ~MailOutbox() = default;
  // client_network: who asked (throttle_network of the client address), for the mail throttles.
  virtual void enqueue(const MailMessage& message, MailKind kind, std::string_view client_network,
                       std::int64_t now) = 0;
  // Takes one mail that is due, if any, and holds it for lease_seconds (another process that
  // looks meanwhile does not get it; one whose sender died gets it after the lease).
  [[nodiscard]] virtual std::optional<QueuedMail> claim_due(std::int64_t now,
                                                            std::int64_t lease_seconds) = 0;
  virtual void mark_sent(std::int64_t id, std::int64_t now) = 0;
  // Another try at next_attempt_at (kNeverAgain: no more tries), with the reason kept.
  virtual void retry_later(std::int64_t id, std::int64_t next_attempt_at,
                           std::string_view error) = 0;
  // Mails of this kind queued since `since` for the recipient, or asked for from the network.
  [[nodiscard]] virtual std::int64_t count_for_recipient(std::string_view recipient, MailKind kind,
                                                         std::int64_t since) = 0;
  [[nodiscard]] virtual std::int64_t count_from_network(std::string_view client_network,
                                                        MailKind kind, std::int64_t since) = 0;
  // Deletes sent (and abandoned) mails older than `before`, at most max_rows of them; how many
  // (housekeeping). Pending mail never goes.
  virtual std::size_t prune(std::int64_t before, std::size_t max_rows) = 0;

  [[nodiscard]] virtual MailBacklog backlog() = 0;

  static constexpr std::int64_t kNeverAgain = INT64_MAX;
};

// Why a mail was not sent. permanent: the server refused it for good (a bad address), so
// trying again is pointless; otherwise (no connection, a 4xx) it is tried again later.
class MailSendError : public std::runtime_error {
 public:
  MailSendError(const std::string& what, bool permanent)
      : std::runtime_error(what), permanent_(permanent) {}
  [[nodiscard]] bool permanent() const { return permanent_; }

 private:
  bool permanent_;
};

// Hands one mail to the mail server. Throws MailSendError. One instance per thread.
class MailSender {
 public:
  virtual ~MailSender() = default;
  virtual void send(const MailMessage& message) = 0;
};

// What a mail says beyond its kind: who it greets and the link it carries (a path of this site:
// the composer puts public_url before it, never a request's Host).
struct MailContent {
  MailKind kind = MailKind::ConfirmAccount;
  std::string username;
  std::string link_path;  // "/auth/confirm/<token>"; empty for a notice without a link
  std::string new_email;  // ChangeEmail / EmailChanged: the new address
};

// Renders a mail (subject with its prefix, text and HTML parts) from templates. Thread-safe.
class MailComposer {
 public:
  virtual ~MailComposer() = default;
  [[nodiscard]] virtual MailMessage compose(std::string_view to,
                                            const MailContent& content) const = 0;
};

// Runs `work` in one database transaction: everything it writes is kept, or nothing (it
// rethrows). The outbox row of a mail is written with the change that causes it.
class Transactions {
 public:
  virtual ~Transactions() = default;
  virtual void run(const std::function<void()>& work) = 0;
};

}  // namespace authfcgi::domain
