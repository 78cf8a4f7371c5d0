#include "domain/login_throttle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_ring.h"
#include "crypto/sodium_random_source.h"
#include "crypto/sodium_token_crypto.h"
#include "domain/errors.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_login_throttle_store.h"

namespace authfcgi::domain {
namespace {

constexpr std::string_view kSecret = "test-secret-of-at-least-32-bytes-0123456789";
constexpr std::int64_t kHour = 3600;

// The four rules, through LoginThrottle against the in-memory table: each test is a situation
// an attacker or a user is in, and what they get.
class LoginThrottleTest : public ::testing::Test {
 protected:
  static AttemptSource untrusted(const std::string& email, const std::string& address) {
    return {email, address, std::nullopt};
  }
  AttemptSource trusted(const std::string& email, const std::string& address,
                        const std::string& marker) const {
    return {email, address, DeviceClaim{marker, clock_.now() + 365 * 24 * kHour}};
  }
  // One attempt with a wrong password; true when it was let through to the password check.
  bool fail(const AttemptSource& source) {
    Admission admission = throttle_.admit(source);
    if (!admission.attempt) {
      return false;
    }
    admission.attempt->failed();
    return true;
  }
  bool succeed(const AttemptSource& source) {
    Admission admission = throttle_.admit(source);
    if (!admission.attempt) {
      return false;
    }
    admission.attempt->succeeded();
    return true;
  }
  std::int64_t refusal_wait(const AttemptSource& source) {
    const Admission admission = throttle_.admit(source);
    return admission.attempt ? 0 : admission.retry_after_seconds;
  }

  testing::FakeLoginThrottleStore store_;
  testing::FakeClock clock_;
  crypto::SodiumRandomSource random_;
  crypto::KeyRing keys_{kSecret, {}};
  crypto::SodiumTokenCrypto token_crypto_{keys_, random_};
  LoginThrottle throttle_{store_, random_, clock_, ThrottleSettings{}};
};

TEST_F(LoginThrottleTest, APairGetsFiveTriesThenWaitsAMinute) {
  const auto attacker = untrusted("ann@example.com", "10.0.0.66");
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(fail(attacker)) << "try " << i + 1;
  }
  EXPECT_EQ(refusal_wait(attacker), 60);
  clock_.advance(60);
  EXPECT_TRUE(fail(attacker)) << "one more try after the wait";
  EXPECT_EQ(refusal_wait(attacker), 120) << "and the wait doubles";
}

TEST_F(LoginThrottleTest, TheVictimFromItsOwnAddressIsNotAffectedByTheAttackersPair) {
  for (int i = 0; i < 5; ++i) {
    fail(untrusted("ann@example.com", "10.0.0.66"));
  }
  EXPECT_TRUE(succeed(untrusted("ann@example.com", "10.0.0.1")));
  EXPECT_TRUE(succeed(untrusted("ann@example.com", "10.0.0.1")));
}

TEST_F(LoginThrottleTest, ASuccessResetsThePair) {
  const auto ann = untrusted("ann@example.com", "10.0.0.1");
  for (int i = 0; i < 4; ++i) {
    fail(ann);
  }
  EXPECT_TRUE(succeed(ann));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(fail(ann)) << "a fresh count of five, try " << i + 1;
  }
  EXPECT_GT(refusal_wait(ann), 0);
}

TEST_F(LoginThrottleTest, AStuffingAddressWaitsForEveryAccountOthersDoNot) {
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(fail(untrusted("user" + std::to_string(i) + "@example.com", "10.0.0.66")));
  }
  // Any account from that address, even one it never tried, even with the right password.
  EXPECT_EQ(refusal_wait(untrusted("ann@example.com", "10.0.0.66")), 24 * kHour);
  EXPECT_TRUE(succeed(untrusted("ann@example.com", "10.0.0.1")));
  // A browser there that Ann has logged in with before is spared.
  EXPECT_TRUE(succeed(trusted("ann@example.com", "10.0.0.66", "ann-laptop")));
}

TEST_F(LoginThrottleTest, TheStuffingWaitEndsWhenTheOldestFailureAgesOut) {
  for (int i = 0; i < 100; ++i) {
    fail(untrusted("user" + std::to_string(i) + "@example.com", "10.0.0.66"));
    clock_.advance(60);
  }
  // The first failure was 100 minutes ago; it leaves the day in 24 h - 100 min.
  EXPECT_EQ(refusal_wait(untrusted("ann@example.com", "10.0.0.66")), 24 * kHour - 100 * 60);
  clock_.advance(24 * kHour - 100 * 60);
  EXPECT_TRUE(fail(untrusted("ann@example.com", "10.0.0.66"))) << "one slot free again";
  EXPECT_GT(refusal_wait(untrusted("bob@example.com", "10.0.0.66")), 0);
}

TEST_F(LoginThrottleTest, DistributedGuessingLocksTheAccountForUntrustedBrowsersOnly) {
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(fail(untrusted("ann@example.com", "10.0.1." + std::to_string(i))));
  }
  // A new address, even with the right password, waits until failures leave the hour.
  EXPECT_EQ(refusal_wait(untrusted("ann@example.com", "10.0.2.1")), kHour);
  // Ann's own browser, from anywhere, logs in as usual.
  EXPECT_TRUE(succeed(trusted("ann@example.com", "10.0.2.1", "ann-laptop")));
  // Other accounts are not affected.
  EXPECT_TRUE(succeed(untrusted("bob@example.com", "10.0.2.1")));
}

TEST_F(LoginThrottleTest, ATrustedBrowsersFailuresCountAgainstItsMarkerOnly) {
  const auto laptop = trusted("ann@example.com", "10.0.0.1", "ann-laptop");
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(fail(laptop));
  }
  EXPECT_EQ(store_.failures_of({ThrottleScope::Pair, "ann@example.com", "10.0.0.1", {}}), 0U);
  EXPECT_EQ(store_.failures_of({ThrottleScope::Address, {}, "10.0.0.1", {}}), 0U);
  EXPECT_EQ(store_.failures_of({ThrottleScope::Account, "ann@example.com", {}, {}}), 0U);
  // Someone else at Ann's address guessed her password twice.
  fail(untrusted("ann@example.com", "10.0.0.1"));
  fail(untrusted("ann@example.com", "10.0.0.1"));
  EXPECT_TRUE(succeed(laptop));
  EXPECT_EQ(store_.failures_of({ThrottleScope::Device, "ann@example.com", {}, "ann-laptop"}), 0U)
      << "a success resets the marker's count";
  EXPECT_EQ(store_.failures_of({ThrottleScope::Pair, "ann@example.com", "10.0.0.1", {}}), 0U)
      << "and the pair's: Ann is at that address";
}

TEST_F(LoginThrottleTest, FiveFailuresKillTheMarkerAndTheBrowserIsUntrustedAgain) {
  const auto laptop = trusted("ann@example.com", "10.0.0.1", "ann-laptop");
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(fail(laptop));
  }
  // Still let through, but now as any browser: counted against the pair, address and account.
  EXPECT_TRUE(fail(laptop));
  EXPECT_EQ(store_.failures_of({ThrottleScope::Pair, "ann@example.com", "10.0.0.1", {}}), 1U);
  // And no longer spared while the account is locked.
  for (int i = 0; i < 50; ++i) {
    fail(untrusted("ann@example.com", "10.0.1." + std::to_string(i)));
  }
  EXPECT_GT(refusal_wait(laptop), 0);
  // A year later the marker would have expired with its cookie; until then it stays dead.
  clock_.advance(300 * 24 * kHour);
  EXPECT_EQ(store_.failures_of({ThrottleScope::Device, "ann@example.com", {}, "ann-laptop"}), 5U);
}

TEST_F(LoginThrottleTest, KnownAndUnknownEmailsAreCountedAlike) {
  // Nothing in the throttle looks at the users table: the same keys, the same waits.
  for (int i = 0; i < 5; ++i) {
    fail(untrusted("ann@example.com", "10.0.0.66"));
    fail(untrusted("nobody@example.com", "10.0.0.67"));
  }
  EXPECT_EQ(refusal_wait(untrusted("ann@example.com", "10.0.0.66")),
            refusal_wait(untrusted("nobody@example.com", "10.0.0.67")));
}

TEST_F(LoginThrottleTest, TwentyWrongPasswordsInParallelGetExactlyFiveTries) {
  std::atomic<int> checked{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      // Each thread is a worker with its own throttle over the shared table.
      LoginThrottle throttle(store_, random_, clock_, ThrottleSettings{});
      Admission admission = throttle.admit(untrusted("ann@example.com", "10.0.0.66"));
      if (!admission.attempt) {
        ++refused;
        return;
      }
      ++checked;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the hash
      admission.attempt->failed();
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(checked.load(), 5);
  EXPECT_EQ(refused.load(), 15);
}

TEST_F(LoginThrottleTest, TwentyRightPasswordsInParallelAllGetThrough) {
  std::atomic<int> logged_in{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      LoginThrottle throttle(store_, random_, clock_, ThrottleSettings{});
      Admission admission = throttle.admit(untrusted("ann@example.com", "10.0.0.1"));
      if (admission.attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        admission.attempt->succeeded();
        ++logged_in;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(logged_in.load(), 20);
  EXPECT_TRUE(store_.rows.empty()) << "successes leave nothing behind";
}

TEST_F(LoginThrottleTest, AnAttemptQueuesBehindOnesInFlightForABoundedTime) {
  const auto ann = untrusted("ann@example.com", "10.0.0.66");
  for (int i = 0; i < 4; ++i) {
    fail(ann);
  }
  // The fifth try is being checked (its worker hangs); the sixth waits for its outcome, at most
  // throttle_burst_wait, then is refused with the shortest honest wait.
  Admission in_flight = throttle_.admit(ann);
  ASSERT_TRUE(in_flight.attempt);
  const std::int64_t pauses_before = clock_.pauses();
  const Admission queued = throttle_.admit(ann);
  EXPECT_FALSE(queued.attempt);
  EXPECT_EQ(queued.retry_after_seconds, 1);
  EXPECT_EQ(clock_.pauses() - pauses_before, 10 * 1000 / 20);
}

TEST_F(LoginThrottleTest, TheQueueAlsoEndsAtTheDeadlineWhenEachTryIsSlow) {
  const auto ann = untrusted("ann@example.com", "10.0.0.66");
  for (int i = 0; i < 4; ++i) {
    fail(ann);
  }
  Admission in_flight = throttle_.admit(ann);
  ASSERT_TRUE(in_flight.attempt);
  clock_.advance_on_pause(1);  // each try blocked on a lock for a second
  const std::int64_t pauses_before = clock_.pauses();
  EXPECT_FALSE(throttle_.admit(ann).attempt);
  EXPECT_EQ(clock_.pauses() - pauses_before, 10) << "10 s of burst wait, not 500 tries";
}

TEST_F(LoginThrottleTest, ARefusalTakesNoLockAndWritesNothing) {
  const auto attacker = untrusted("ann@example.com", "10.0.0.66");
  for (int i = 0; i < 5; ++i) {
    fail(attacker);
  }
  const int admits_before = store_.admits;
  const auto rows_before = store_.rows.size();
  for (int i = 0; i < 100; ++i) {
    EXPECT_GT(refusal_wait(untrusted("ann@example.com", "10.0.0.66")), 0);
  }
  EXPECT_EQ(store_.admits, admits_before);
  EXPECT_EQ(store_.rows.size(), rows_before);
}

TEST_F(LoginThrottleTest, ATrustedBrowserIsAdmittedOnItsMarkerAloneWhateverLocksTheAccount) {
  for (int i = 0; i < 50; ++i) {
    fail(untrusted("ann@example.com", "10.0.1." + std::to_string(i)));
  }
  const int admits_before = store_.admits;
  const int reads_before = store_.reads;
  Admission admission = throttle_.admit(trusted("ann@example.com", "10.0.2.1", "ann-laptop"));
  ASSERT_TRUE(admission.attempt);
  EXPECT_TRUE(admission.attempt->trusted_device());
  EXPECT_EQ(store_.admits - admits_before, 1) << "one admission, on the marker's key only";
  EXPECT_EQ(store_.reads, reads_before) << "the account's keys are not even read";
  admission.attempt->succeeded();
}

TEST_F(LoginThrottleTest, AnOutcomeThatCouldNotBeRecordedCountsAsAFailure) {
  Admission admission = throttle_.admit(untrusted("ann@example.com", "10.0.0.66"));
  ASSERT_TRUE(admission.attempt);
  store_.unavailable = true;
  EXPECT_THROW(admission.attempt->failed(), StorageUnavailable);
  store_.unavailable = false;
  // In flight while its lease runs; a failure after that, for its window.
  EXPECT_EQ(throttle_.list().size(), 0U);
  clock_.advance(121);
  const auto statuses = throttle_.list();
  ASSERT_EQ(statuses.size(), 3U);
  for (const ThrottleStatus& status : statuses) {
    EXPECT_EQ(status.failures, 1) << scope_name(status.key.scope);
  }
}

TEST_F(LoginThrottleTest, APruneThatFailsNeverFailsTheLogin) {
  store_.unavailable = true;
  EXPECT_NO_THROW(throttle_.prune_now_and_then());
  EXPECT_THROW(static_cast<void>(throttle_.prune()), StorageUnavailable) << "authctl reports it";
}

TEST_F(LoginThrottleTest, AnAttemptDroppedUnresolvedCountsNothing) {
  {
    Admission admission = throttle_.admit(untrusted("ann@example.com", "10.0.0.1"));
    ASSERT_TRUE(admission.attempt);
  }
  EXPECT_TRUE(store_.rows.empty());
}

TEST_F(LoginThrottleTest, ALockConflictIsTriedAgain) {
  store_.busy_admits = 3;
  EXPECT_TRUE(fail(untrusted("ann@example.com", "10.0.0.1")));
  EXPECT_EQ(store_.admits, 1);
}

TEST_F(LoginThrottleTest, ListShowsEachKeyWithItsFailuresAndWait) {
  for (int i = 0; i < 5; ++i) {
    fail(untrusted("ann@example.com", "10.0.0.66"));
  }
  const auto statuses = throttle_.list();
  ASSERT_EQ(statuses.size(), 3U);
  for (const ThrottleStatus& status : statuses) {
    EXPECT_EQ(status.failures, 5);
    EXPECT_EQ(status.retry_after_seconds, status.key.scope == ThrottleScope::Pair ? 60 : 0)
        << scope_name(status.key.scope);
  }
}

TEST_F(LoginThrottleTest, ClearByEmailFreesTheAccountButNotTheAddress) {
  for (int i = 0; i < 5; ++i) {
    fail(untrusted("ann@example.com", "10.0.0.66"));
  }
  EXPECT_EQ(throttle_.clear(ThrottleFilter{"ann@example.com", std::nullopt}), 2U);
  EXPECT_TRUE(succeed(untrusted("ann@example.com", "10.0.0.66")));
  EXPECT_EQ(store_.failures_of({ThrottleScope::Address, {}, "10.0.0.66", {}}), 5U);
}

TEST_F(LoginThrottleTest, PruneDeletesWhatNoLongerCountsAndRunsAtMostOnceAMinute) {
  for (int i = 0; i < 3; ++i) {
    fail(untrusted("user" + std::to_string(i) + "@example.com", "10.0.0.66"));
  }
  ASSERT_EQ(store_.rows.size(), 9U);
  throttle_.prune_now_and_then();  // the first one runs
  EXPECT_EQ(store_.rows.size(), 9U) << "nothing has expired yet";
  clock_.advance(kHour);
  throttle_.prune_now_and_then();
  EXPECT_EQ(store_.rows.size(), 3U)
      << "the pairs' and accounts' hour is over, the address's day not";
  clock_.advance(24 * kHour - kHour);
  EXPECT_EQ(throttle_.prune(), 3U);
  EXPECT_TRUE(store_.rows.empty());
}

}  // namespace
}  // namespace authfcgi::domain
