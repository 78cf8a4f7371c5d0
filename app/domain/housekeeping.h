#pragma once

#include <cstddef>
#include <cstdint>

#include "domain/account_tokens.h"
#include "domain/clock.h"
#include "domain/login_throttle.h"
#include "domain/mail.h"
#include "domain/remember_token_store.h"
#include "domain/session_store.h"

namespace authfcgi::domain {

// What one housekeeping run deleted, per table.
struct HousekeepingResult {
  std::size_t sessions = 0;         // expired
  std::size_t remember_tokens = 0;  // expired, used or not
  std::size_t throttle_rows = 0;    // failures past their window, idle lock rows
  std::size_t account_tokens = 0;   // expired mail links
  std::size_t mails = 0;            // sent or given up, older than kMailRetentionSeconds

  bool operator==(const HousekeepingResult&) const = default;
};

// Deletes the rows nothing needs any more, so that every table stays bounded by what is live:
// expired sessions and remember tokens, throttle rows that no longer count, expired mail
// links, and sent or given-up mail past its retention. Mail still to be delivered is never
// deleted. Rows go in batches of short statements, so a big backlog never holds a table
// locked for long. `authctl db prune` (the shipped hourly timer) and the workers' delivery
// thread call it. One instance per thread; throws StorageUnavailable.
class Housekeeping {
 public:
  // Sent or given-up mail stays this long: the mail throttles count the last hour's mails.
  static constexpr std::int64_t kMailRetentionSeconds = 2 * 3600;
  // Rows per batch and table.
  static constexpr std::size_t kBatchRows = 1000;

  Housekeeping(SessionStore& sessions, RememberTokenStore& remember_tokens, LoginThrottle& throttle,
               AccountTokenStore& account_tokens, MailOutbox& outbox, const Clock& clock);

  // Every table, until nothing past its retention is left.
  HousekeepingResult run();
  // At most max_batches batches per table: a share that fits between other work.
  HousekeepingResult run(int max_batches);

 private:
  SessionStore& sessions_;
  RememberTokenStore& remember_tokens_;
  LoginThrottle& throttle_;
  AccountTokenStore& account_tokens_;
  MailOutbox& outbox_;
  const Clock& clock_;
};

}  // namespace authfcgi::domain
