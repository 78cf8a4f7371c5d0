#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/auth_settings.h"
#include "domain/clock.h"
#include "domain/login_throttle_store.h"
#include "domain/random_source.h"
#include "domain/throttle_policy.h"

namespace authfcgi::domain {

// A device marker the browser holds for the account it logs into, already checked to be
// signed, for this account and not expired. Whether its failures leave it trusted is the
// throttle's to say.
struct DeviceClaim {
  std::string id;
  std::int64_t expires_at = 0;
};

// Who tries to log in, as the throttle counts them.
struct AttemptSource {
  std::string email;    // normalized
  std::string address;  // the client's; counted by util::throttle_network
  std::optional<DeviceClaim> device;
};

class LoginThrottle;

// An attempt the throttle let through: pending on its keys until its password is checked.
// Dropped unresolved (an exception on the way), it forgets its marks and counts nothing.
class AdmittedAttempt {
 public:
  AdmittedAttempt(const AdmittedAttempt&) = delete;
  AdmittedAttempt& operator=(const AdmittedAttempt&) = delete;
  AdmittedAttempt(AdmittedAttempt&& other) noexcept;
  AdmittedAttempt& operator=(AdmittedAttempt&&) = delete;
  ~AdmittedAttempt();

  // True when the browser's device marker was trusted: the attempt counts against it alone.
  [[nodiscard]] bool trusted_device() const { return trusted_device_; }
  // The password was wrong: a failure on every key the attempt was counted against.
  void failed();
  // The password was right: the pair's failures and the device marker's are forgotten (the
  // pair's also after a trusted browser's success: the account's owner is at that address).
  void succeeded();

 private:
  friend class LoginThrottle;
  AdmittedAttempt(LoginThrottle& throttle, std::string id, std::vector<FailureExpiry> counted,
                  std::vector<ThrottleKey> reset_on_success, bool trusted_device);

  LoginThrottle* throttle_;
  std::string id_;
  std::vector<FailureExpiry> counted_;
  std::vector<ThrottleKey> reset_on_success_;
  bool trusted_device_;
  bool open_ = true;
};

struct Admission {
  std::optional<AdmittedAttempt> attempt;  // nullopt: refused, 429
  std::int64_t retry_after_seconds = 0;    // > 0 when refused
};

// A key as an operator sees it.
struct ThrottleStatus {
  ThrottleKey key;
  std::int64_t failures = 0;
  std::int64_t retry_after_seconds = 0;  // 0 when the key lets attempts through
};

// The four rules of SPEC "Login throttling" over a shared store. Attempts are admitted under
// the store's lock on their keys and stay pending until resolved, so attempts sent in
// parallel get exactly the tries a sequence would: when the tries a key has left are all taken
// by attempts in flight, the next one waits (at most burst_wait_seconds) for their outcome.
// One instance per worker thread (or per authctl run).
class LoginThrottle {
 public:
  LoginThrottle(LoginThrottleStore& store, const RandomSource& random, const Clock& clock,
                ThrottleSettings settings);

  // Admits the attempt or refuses it with the wait. Known and unknown emails are treated
  // alike: nothing here looks at the users table. Throws StorageUnavailable.
  [[nodiscard]] Admission admit(const AttemptSource& attempt);

  // Every key with failures that count, with how long it still refuses attempts.
  [[nodiscard]] std::vector<ThrottleStatus> list();
  // Forgets the failures of the keys the filter names; how many keys had any.
  std::size_t clear(const ThrottleFilter& filter);
  // Deletes every row that no longer counts (in batches, until none is left); how many.
  std::size_t prune();
  // The same, at most max_batches batches.
  std::size_t prune(int max_batches);
  // prune(), at most once a minute per instance: the login path keeps the table bounded
  // without an operator.
  void prune_now_and_then();

 private:
  friend class AdmittedAttempt;
  enum class Verdict { Refused, Wait, Untrusted, TrustedDevice };
  // One try at admitting: an attempt, a refusal (with its wait), or "wait and ask again".
  struct Step {
    Verdict verdict = Verdict::Wait;
    std::int64_t retry_after_seconds = 0;
    std::optional<AdmittedAttempt> attempt;
  };
  // With a device marker: admitted on the marker alone while it lives (Untrusted, without an
  // attempt, once it is killed).
  Step try_trusted(const AttemptSource& source, const std::string& id);
  // The pair's, the address's and the account's rules.
  Step try_untrusted(const AttemptSource& source, const std::string& id);
  Step try_once(const AttemptSource& source, const std::string& id);
  [[nodiscard]] TriesLeft tries_left_for(const ThrottleKey& key, const KeyHistory& history,
                                         std::int64_t now) const;
  std::size_t prune_batches(int max_batches);
  [[nodiscard]] std::int64_t expiry_for(const ThrottleKey& key, const AttemptSource& source,
                                        std::int64_t now) const;

  LoginThrottleStore& store_;
  const RandomSource& random_;
  const Clock& clock_;
  ThrottleSettings settings_;
  std::int64_t last_prune_ = 0;
};

}  // namespace authfcgi::domain
