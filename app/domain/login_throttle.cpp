#include "domain/login_throttle.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <utility>

#include "domain/errors.h"
#include "util/ip_address.h"

namespace authfcgi::domain {
namespace {

// A pending mark outlives any attempt (a hash, after waiting for a hashing slot); it only
// matters when a worker dies between admitting an attempt and resolving it.
constexpr std::int64_t kAttemptLeaseSeconds = 120;
constexpr std::chrono::milliseconds kQueuePoll{20};
constexpr std::int64_t kPruneEverySeconds = 60;
constexpr std::size_t kPruneBatchRows = 1000;
// The login path deletes at most this many batches a minute per thread (a login waits for
// it): far more than an attack can add in that time, since every row costs a hash.
constexpr int kPruneBatchesPerMinute = 10;

// 16 random bytes in hex: names the attempt's pending marks, so that only it resolves them.
std::string attempt_id(const RandomSource& random) {
  std::array<unsigned char, 16> bytes{};
  random.fill(bytes);
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string id;
  for (const unsigned char byte : bytes) {
    id.push_back(kDigits[byte >> 4U]);
    id.push_back(kDigits[byte & 0x0FU]);
  }
  return id;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) {
    return std::numeric_limits<std::int64_t>::max();
  }
  return a + b;
}

}  // namespace

AdmittedAttempt::AdmittedAttempt(LoginThrottle& throttle, std::string id,
                                 std::vector<FailureExpiry> counted,
                                 std::vector<ThrottleKey> reset_on_success, bool trusted_device)
    : throttle_(&throttle),
      id_(std::move(id)),
      counted_(std::move(counted)),
      reset_on_success_(std::move(reset_on_success)),
      trusted_device_(trusted_device) {}

AdmittedAttempt::AdmittedAttempt(AdmittedAttempt&& other) noexcept
    : throttle_(other.throttle_),
      id_(std::move(other.id_)),
      counted_(std::move(other.counted_)),
      reset_on_success_(std::move(other.reset_on_success_)),
      trusted_device_(other.trusted_device_),
      open_(std::exchange(other.open_, false)) {}

AdmittedAttempt::~AdmittedAttempt() {
  if (!open_) {
    return;
  }
  try {
    throttle_->store_.forget(id_, {});
  } catch (const std::exception&) {
    // The pending marks end with their lease.
  }
}

void AdmittedAttempt::failed() {
  open_ = false;
  throttle_->store_.record_failure(id_, throttle_->clock_.now(), counted_);
}

void AdmittedAttempt::succeeded() {
  open_ = false;
  throttle_->store_.forget(id_, reset_on_success_);
}

LoginThrottle::LoginThrottle(LoginThrottleStore& store, const RandomSource& random,
                             const Clock& clock, ThrottleSettings settings)
    : store_(store), random_(random), clock_(clock), settings_(settings) {}

TriesLeft LoginThrottle::tries_left_for(const ThrottleKey& key, const KeyHistory& history,
                                        std::int64_t now) const {
  switch (key.scope) {
    case ThrottleScope::Pair:
      return tries_left(settings_.pair, history, now);
    case ThrottleScope::Address:
      return tries_left(settings_.stuffing, history, now);
    case ThrottleScope::Account:
      return tries_left(settings_.distributed, history, now);
    case ThrottleScope::Device:
      return tries_left(
          WindowLimits{settings_.device_max_failures, settings_.device_max_age_seconds}, history,
          now);
  }
  return {};
}

std::int64_t LoginThrottle::expiry_for(const ThrottleKey& key, const AttemptSource& source,
                                       std::int64_t now) const {
  switch (key.scope) {
    case ThrottleScope::Pair:
      return saturating_add(now, settings_.pair.window_seconds);
    case ThrottleScope::Address:
      return saturating_add(now, settings_.stuffing.window_seconds);
    case ThrottleScope::Account:
      return saturating_add(now, settings_.distributed.window_seconds);
    case ThrottleScope::Device:
      // A killed marker stays dead for as long as the cookie could be sent.
      return source.device ? source.device->expires_at : now;
  }
  return now;
}

LoginThrottle::Step LoginThrottle::try_trusted(const AttemptSource& source, const std::string& id) {
  // The marker's key alone: nothing an attacker does to the account, the address or the pair
  // (refused attempts included) can make the owner's browser wait for their locks.
  const std::array<ThrottleKey, 1> keys{
      ThrottleKey{ThrottleScope::Device, source.email, {}, source.device->id}};
  const std::int64_t now = clock_.now();
  Step step{Verdict::Untrusted, 0, std::nullopt};
  const auto decide = [&](std::span<const KeyHistory> histories) {
    std::vector<LoginThrottleStore::PendingMark> marks;
    const TriesLeft left = tries_left_for(keys[0], histories[0], now);
    if (left.tries == 0) {
      return marks;  // a killed marker: the browser is untrusted again
    }
    if (histories[0].pending >= left.tries) {
      step.verdict = Verdict::Wait;
      return marks;
    }
    step.verdict = Verdict::TrustedDevice;
    marks.push_back({0, expiry_for(keys[0], source, now)});
    return marks;
  };
  if (store_.admit(keys, id, now, saturating_add(now, kAttemptLeaseSeconds), decide) ==
      AdmitOutcome::Busy) {
    return {Verdict::Wait, 0, std::nullopt};
  }
  if (step.verdict == Verdict::TrustedDevice) {
    // A success forgets the marker's failures and the pair's: the owner is at that address.
    const ThrottleKey pair{ThrottleScope::Pair, source.email, source.address, {}};
    step.attempt.emplace(AdmittedAttempt(*this, id,
                                         {FailureExpiry{keys[0], expiry_for(keys[0], source, now)}},
                                         {pair, keys[0]}, true));
  }
  return step;
}

LoginThrottle::Step LoginThrottle::try_untrusted(const AttemptSource& source,
                                                 const std::string& id) {
  const std::array<ThrottleKey, 3> keys{
      ThrottleKey{ThrottleScope::Pair, source.email, source.address, {}},
      ThrottleKey{ThrottleScope::Address, {}, source.address, {}},
      ThrottleKey{ThrottleScope::Account, source.email, {}, {}},
  };
  const std::int64_t now = clock_.now();
  Step step{Verdict::Wait, 0, std::nullopt};
  // Refused when any key has no try left, and never admitted while the attempts in flight may
  // take the tries it has left.
  const auto judge = [&](std::span<const KeyHistory> histories) {
    bool refused = false;
    bool wait = false;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const TriesLeft left = tries_left_for(keys.at(i), histories[i], now);
      if (left.tries == 0) {
        refused = true;
        step.retry_after_seconds = std::max(step.retry_after_seconds, left.retry_after_seconds);
      } else if (histories[i].pending >= left.tries) {
        wait = true;
      }
    }
    step.verdict = refused ? Verdict::Refused : wait ? Verdict::Wait : Verdict::Untrusted;
  };
  // A refusal needs no lock and writes nothing: an attacker kept waiting costs one read.
  judge(store_.read(keys, now));
  if (step.verdict == Verdict::Refused) {
    return step;
  }
  const auto decide = [&](std::span<const KeyHistory> histories) {
    judge(histories);
    std::vector<LoginThrottleStore::PendingMark> marks;
    if (step.verdict == Verdict::Untrusted) {
      for (std::size_t i = 0; i < keys.size(); ++i) {
        marks.push_back({i, expiry_for(keys.at(i), source, now)});
      }
    }
    return marks;
  };
  if (store_.admit(keys, id, now, saturating_add(now, kAttemptLeaseSeconds), decide) ==
      AdmitOutcome::Busy) {
    return {Verdict::Wait, 0, std::nullopt};
  }
  if (step.verdict == Verdict::Untrusted) {
    std::vector<FailureExpiry> counted;
    counted.reserve(keys.size());
    for (const ThrottleKey& key : keys) {
      counted.push_back(FailureExpiry{key, expiry_for(key, source, now)});
    }
    step.attempt.emplace(AdmittedAttempt(*this, id, std::move(counted), {keys[0]}, false));
  }
  return step;
}

LoginThrottle::Step LoginThrottle::try_once(const AttemptSource& source, const std::string& id) {
  if (source.device) {
    Step trusted = try_trusted(source, id);
    if (trusted.attempt || trusted.verdict != Verdict::Untrusted) {
      return trusted;
    }
  }
  return try_untrusted(source, id);
}

Admission LoginThrottle::admit(const AttemptSource& attempt) {
  // Counted by network: an IPv6 client owns a whole /64 and may send every attempt from
  // another address in it.
  AttemptSource source = attempt;
  source.address = util::throttle_network(attempt.address);
  const std::string id = attempt_id(random_);
  // Bounded twice: by polls (a store may block up to its lock wait per poll) and by the clock.
  const std::int64_t wait_seconds = std::max<std::int64_t>(settings_.burst_wait_seconds, 0);
  const std::int64_t polls = wait_seconds * 1000 / kQueuePoll.count();
  const std::int64_t deadline = saturating_add(clock_.now(), wait_seconds);
  for (std::int64_t poll = 0;; ++poll) {
    Step step = try_once(source, id);
    if (step.attempt) {
      return {std::move(step.attempt), 0};
    }
    if (step.verdict == Verdict::Refused) {
      return {std::nullopt, std::max<std::int64_t>(step.retry_after_seconds, 1)};
    }
    if (poll >= polls || clock_.now() >= deadline) {
      // The attempts ahead of this one did not finish in time (an overloaded host): refused
      // like any other attempt over the limit, with the shortest honest wait.
      return {std::nullopt, 1};
    }
    clock_.pause(kQueuePoll);
  }
}

std::vector<ThrottleStatus> LoginThrottle::list() {
  const std::int64_t now = clock_.now();
  std::vector<ThrottleStatus> statuses;
  for (ThrottleListing& listing : store_.list(now)) {
    ThrottleStatus status;
    status.failures = listing.history.failures;
    const TriesLeft left = tries_left_for(listing.key, listing.history, now);
    status.retry_after_seconds = left.tries == 0 ? left.retry_after_seconds : 0;
    status.key = std::move(listing.key);
    statuses.push_back(std::move(status));
  }
  return statuses;
}

std::size_t LoginThrottle::clear(const ThrottleFilter& filter) { return store_.clear(filter); }

std::size_t LoginThrottle::prune() { return prune_batches(std::numeric_limits<int>::max()); }

std::size_t LoginThrottle::prune(int max_batches) { return prune_batches(max_batches); }

std::size_t LoginThrottle::prune_batches(int max_batches) {
  const std::int64_t now = clock_.now();
  last_prune_ = now;
  std::size_t deleted = 0;
  for (int batch = 0; batch < max_batches; ++batch) {
    const std::size_t rows = store_.prune(now, kPruneBatchRows);
    deleted += rows;
    if (rows < kPruneBatchRows) {
      break;
    }
  }
  return deleted;
}

void LoginThrottle::prune_now_and_then() {
  const std::int64_t now = clock_.now();
  if (last_prune_ != 0 && now >= last_prune_ && now - last_prune_ < kPruneEverySeconds) {
    return;
  }
  try {
    prune_batches(kPruneBatchesPerMinute);
  } catch (const StorageUnavailable&) {
    // Best effort: a delete that met an admission's locks goes on in a minute; the login it
    // runs in must not fail for it. A real outage fails the login's own statements next.
  }
}

}  // namespace authfcgi::domain
