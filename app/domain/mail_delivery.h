#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "domain/clock.h"
#include "domain/mail.h"

namespace authfcgi::domain {

struct MailDeliverySettings {
  std::int64_t first_retry_seconds = 60;  // then doubled each time
  std::int64_t max_retry_seconds = 3600;
  std::uint32_t max_attempts = 60;   // about two and a half days of hourly tries, then given up
  std::int64_t lease_seconds = 300;  // a claimed mail whose sender died is tried again after it
};

// Delivers what the outbox holds, off the request path: each due mail once, a failure tried
// again later with back-off (a mail server outage loses no mail), a permanent refusal or too
// many tries given up and logged. One instance per delivery thread.
class MailDelivery {
 public:
  using Log = std::function<void(const std::string& line)>;
  // Turns a queued request (MailKind::ResetRequest) into the mail it asks for, if any (it
  // queues that mail itself). Throws StorageUnavailable.
  using Expand = std::function<void(const QueuedMail& request)>;

  MailDelivery(MailOutbox& outbox, MailSender& sender, const Clock& clock,
               MailDeliverySettings settings, Log log, Expand expand = {});

  // Sends up to `max_mails` due mails; returns how many were sent. Throws StorageUnavailable.
  std::size_t deliver_due(std::size_t max_mails);

  // When a mail that failed `attempts` times (1, 2, ...) is tried next, from `now`.
  [[nodiscard]] std::int64_t next_attempt(std::int64_t now, std::uint32_t attempts) const;

 private:
  MailOutbox& outbox_;
  MailSender& sender_;
  const Clock& clock_;
  MailDeliverySettings settings_;
  Log log_;
  Expand expand_;
};

}  // namespace authfcgi::domain
