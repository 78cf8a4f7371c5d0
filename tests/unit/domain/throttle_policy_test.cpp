#include "domain/throttle_policy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace authfcgi::domain {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

const BackoffLimits kPair{};                    // 5, then 60 s doubling to 900 s, 1 h window
const WindowLimits kStuffing{100, 24 * kHour};  // 100 a day

// `count` failures, the newest `newest_ago` seconds ago and one more second apart each,
// counting for `window` from when they happened: what the store sums up.
KeyHistory failures(int count, std::int64_t newest_ago, std::int64_t window = kHour) {
  KeyHistory history;
  history.failures = count;
  history.last_failure = kNow - newest_ago;
  history.first_expiry = kNow - newest_ago - (count - 1) + window;
  return history;
}

TEST(PairRule, FiveTriesWithNoFailures) {
  const TriesLeft left = tries_left(kPair, KeyHistory{}, kNow);
  EXPECT_EQ(left.tries, 5);
  EXPECT_EQ(left.retry_after_seconds, 0);
}

TEST(PairRule, TheFifthTryIsStillATry) {
  EXPECT_EQ(tries_left(kPair, failures(4, 0), kNow).tries, 1);
}

TEST(PairRule, FiveFailuresWaitOneMinuteFromTheLast) {
  const TriesLeft left = tries_left(kPair, failures(5, 0), kNow);
  EXPECT_EQ(left.tries, 0);
  EXPECT_EQ(left.retry_after_seconds, 60);
  EXPECT_EQ(tries_left(kPair, failures(5, 59), kNow).retry_after_seconds, 1);
}

TEST(PairRule, AfterTheWaitExactlyOneTry) {
  const TriesLeft left = tries_left(kPair, failures(5, 60), kNow);
  EXPECT_EQ(left.tries, 1);
}

TEST(PairRule, EachFurtherFailureDoublesTheWaitUpToFifteenMinutes) {
  EXPECT_EQ(tries_left(kPair, failures(6, 0), kNow).retry_after_seconds, 120);
  EXPECT_EQ(tries_left(kPair, failures(7, 0), kNow).retry_after_seconds, 240);
  EXPECT_EQ(tries_left(kPair, failures(8, 0), kNow).retry_after_seconds, 480);
  EXPECT_EQ(tries_left(kPair, failures(9, 0), kNow).retry_after_seconds, 900);
  EXPECT_EQ(tries_left(kPair, failures(1000, 0, 10 * kHour), kNow).retry_after_seconds, 900);
}

TEST(PairRule, AFailureInTheFutureCountsAsJustNow) {
  // Another host whose clock runs ahead: never a wait longer than the configured one.
  const KeyHistory ahead = failures(5, -100000);
  EXPECT_EQ(tries_left(kPair, ahead, kNow).retry_after_seconds, 60);
}

TEST(PairRule, AbsurdValuesNeitherOverflowNorExceedTheMaximum) {
  const KeyHistory odd{5, kMin, kMax, 0};
  const TriesLeft left = tries_left(kPair, odd, kNow);
  EXPECT_EQ(left.tries, 1);  // the last failure is ages ago
  const BackoffLimits huge{1, kMax, kMax, kMax};
  EXPECT_EQ(tries_left(huge, failures(3, 0), kNow).retry_after_seconds, kMax);
  const BackoffLimits zero{0, 0, 0, 0};
  EXPECT_EQ(tries_left(zero, KeyHistory{}, kNow).tries, 1);
}

TEST(WindowRule, NinetyNineFailuresLeaveOneTry) {
  EXPECT_EQ(tries_left(kStuffing, failures(99, 0, 24 * kHour), kNow).tries, 1);
}

TEST(WindowRule, AtTheLimitItWaitsUntilTheOldestAgesOut) {
  // 100 failures, the newest 10 s ago, each one second older: the oldest happened 109 s ago
  // and ends its day in 24 h - 109 s.
  const TriesLeft left = tries_left(kStuffing, failures(100, 10, 24 * kHour), kNow);
  EXPECT_EQ(left.tries, 0);
  EXPECT_EQ(left.retry_after_seconds, 24 * kHour - 109);
}

TEST(WindowRule, OverTheLimitItIsJudgedAgainWhenTheOldestAgesOut) {
  // 102 failures (a Galera node let some through): refused, and judged again when the oldest
  // failure, 101 s old, leaves the day.
  const TriesLeft left = tries_left(kStuffing, failures(102, 0, 24 * kHour), kNow);
  EXPECT_EQ(left.tries, 0);
  EXPECT_EQ(left.retry_after_seconds, 24 * kHour - 101);
}

TEST(WindowRule, TheWaitNeverExceedsTheWindow) {
  const KeyHistory far{100, kNow, kMax, 0};
  EXPECT_EQ(tries_left(kStuffing, far, kNow).retry_after_seconds, 24 * kHour);
  const KeyHistory stale{100, kNow, kMin, 0};
  EXPECT_EQ(tries_left(kStuffing, stale, kNow).retry_after_seconds, 1);
}

TEST(WaitText, SaysHowLongInWordsRoundedUp) {
  EXPECT_EQ(wait_text(1), "1 second");
  EXPECT_EQ(wait_text(0), "1 second");
  EXPECT_EQ(wait_text(45), "45 seconds");
  EXPECT_EQ(wait_text(60), "1 minute");
  EXPECT_EQ(wait_text(61), "2 minutes");
  EXPECT_EQ(wait_text(180), "3 minutes");
  EXPECT_EQ(wait_text(3600), "60 minutes");
  EXPECT_EQ(wait_text(3601), "61 minutes");
  EXPECT_EQ(wait_text(7199), "120 minutes");
  EXPECT_EQ(wait_text(7200), "2 hours");
  EXPECT_EQ(wait_text(7201), "3 hours");
  EXPECT_EQ(wait_text(24 * kHour - 109), "24 hours");
}

TEST(ThrottleKeyText, DiffersForEveryScopeAndPart) {
  const std::vector<ThrottleKey> keys{
      {ThrottleScope::Pair, "a@b.c", "1.2.3.4", ""},
      {ThrottleScope::Pair, "a@b.c", "1.2.3.5", ""},
      {ThrottleScope::Pair, "A@b.c", "1.2.3.4", ""},
      {ThrottleScope::Account, "a@b.c", "", ""},
      {ThrottleScope::Address, "", "1.2.3.4", ""},
      {ThrottleScope::Device, "a@b.c", "", "x"},
      {ThrottleScope::Device, "a@b.c", "", "y"},
      // Parts that would join to the same text without a separator.
      {ThrottleScope::Pair, "a@b.c1", ".2.3.4", ""},
  };
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      EXPECT_NE(keys[i].text(), keys[j].text()) << i << " vs " << j;
    }
  }
}

}  // namespace
}  // namespace authfcgi::domain
