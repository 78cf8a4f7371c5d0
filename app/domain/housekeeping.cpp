#include "domain/housekeeping.h"

#include <limits>

namespace authfcgi::domain {
namespace {

// Calls delete_batch(kBatchRows) until a batch comes back short (nothing left, or the store
// gave way to a request holding the rows) or max_batches ran; the rows deleted.
template <typename DeleteBatch>
std::size_t in_batches(int max_batches, DeleteBatch delete_batch) {
  std::size_t deleted = 0;
  for (int batch = 0; batch < max_batches; ++batch) {
    const std::size_t rows = delete_batch(Housekeeping::kBatchRows);
    deleted += rows;
    if (rows < Housekeeping::kBatchRows) {
      break;
    }
  }
  return deleted;
}

}  // namespace

Housekeeping::Housekeeping(SessionStore& sessions, RememberTokenStore& remember_tokens,
                           LoginThrottle& throttle, AccountTokenStore& account_tokens,
                           MailOutbox& outbox, const Clock& clock)
    : sessions_(sessions),
      remember_tokens_(remember_tokens),
      throttle_(throttle),
      account_tokens_(account_tokens),
      outbox_(outbox),
      clock_(clock) {}

HousekeepingResult Housekeeping::run() { return run(std::numeric_limits<int>::max()); }

HousekeepingResult Housekeeping::run(int max_batches) {
  const std::int64_t now = clock_.now();
  HousekeepingResult result;
  result.sessions =
      in_batches(max_batches, [&](std::size_t rows) { return sessions_.prune(now, rows); });
  // A used token is the theft signal only while it could still log in: once expired, it is
  // refused like any unknown token, so nothing needs its row.
  result.remember_tokens =
      in_batches(max_batches, [&](std::size_t rows) { return remember_tokens_.prune(now, rows); });
  // The throttle owns its windows (and batches the same way).
  result.throttle_rows = throttle_.prune(max_batches);
  result.account_tokens =
      in_batches(max_batches, [&](std::size_t rows) { return account_tokens_.prune(now, rows); });
  const std::int64_t mail_before = now - kMailRetentionSeconds;
  result.mails =
      in_batches(max_batches, [&](std::size_t rows) { return outbox_.prune(mail_before, rows); });
  return result;
}

}  // namespace authfcgi::domain
