#include "domain/mail_delivery.h"

#include <algorithm>
#include <utility>

namespace authfcgi::domain {

MailDelivery::MailDelivery(MailOutbox& outbox, MailSender& sender, const Clock& clock,
                           MailDeliverySettings settings, Log log, Expand expand)
    : outbox_(outbox),
      sender_(sender),
      clock_(clock),
      settings_(settings),
      log_(std::move(log)),
      expand_(std::move(expand)) {}

std::int64_t MailDelivery::next_attempt(std::int64_t now, std::uint32_t attempts) const {
  std::int64_t wait = settings_.first_retry_seconds;
  for (std::uint32_t i = 1; i < attempts && wait < settings_.max_retry_seconds; ++i) {
    wait *= 2;
  }
  return now + std::min(wait, settings_.max_retry_seconds);
}

std::size_t MailDelivery::deliver_due(std::size_t max_mails) {
  std::size_t sent = 0;
  for (std::size_t i = 0; i < max_mails; ++i) {
    auto mail = outbox_.claim_due(clock_.now(), settings_.lease_seconds);
    if (!mail) {
      break;
    }
    const std::uint32_t attempts = mail->attempts + 1;
    if (mail->kind == MailKind::ResetRequest) {
      // Done once it is expanded (or when nothing here can expand it): never sent itself.
      if (expand_) {
        expand_(*mail);
      }
      outbox_.mark_sent(mail->id, clock_.now());
      continue;
    }
    try {
      sender_.send(mail->message);
      outbox_.mark_sent(mail->id, clock_.now());
      ++sent;
      log_("mail " + std::to_string(mail->id) + " sent (try " + std::to_string(attempts) + ")");
    } catch (const MailSendError& error) {
      const bool give_up = error.permanent() || attempts >= settings_.max_attempts;
      const std::int64_t next =
          give_up ? MailOutbox::kNeverAgain : next_attempt(clock_.now(), attempts);
      outbox_.retry_later(mail->id, next, error.what());
      log_(
          "mail " + std::to_string(mail->id) + " not sent (try " + std::to_string(attempts) +
          "): " + error.what() +
          (give_up ? "; given up" : "; next try in " + std::to_string(next - clock_.now()) + " s"));
      if (!error.permanent()) {
        break;  // the server is down or busy: the other due mails wait for the next round
      }
    }
  }
  return sent;
}

}  // namespace authfcgi::domain
