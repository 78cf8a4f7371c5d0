#include "domain/throttle_policy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

namespace authfcgi::domain {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

// The defaults: 5 failures, then 60 s doubling up to 900 s; forgotten after an hour.
const ThrottleLimits kDefaults{};
// A forget window shorter than the longest wait, so forgetting is visible on its own.
const ThrottleLimits kShortMemory{5, 60, 900, 100};

struct ThrottleCase {
  std::string name;
  ThrottleState state;
  std::int64_t now = kNow;
  ThrottleLimits limits;
  ThrottleDecision expected;
};

std::ostream& operator<<(std::ostream& out, const ThrottleCase& c) { return out << c.name; }

ThrottleDecision allowed() { return {true, 0}; }
ThrottleDecision wait(std::int64_t seconds) { return {false, seconds}; }

class DecideThrottle : public ::testing::TestWithParam<ThrottleCase> {};

TEST_P(DecideThrottle, GivesTheExpectedDecision) {
  const ThrottleCase& c = GetParam();
  const ThrottleDecision decision = decide_throttle(c.state, c.now, c.limits);
  EXPECT_EQ(decision.allowed, c.expected.allowed) << c.name;
  EXPECT_EQ(decision.retry_after_seconds, c.expected.retry_after_seconds) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    UnderTheLimit, DecideThrottle,
    ::testing::Values(ThrottleCase{"never failed", {0, 0}, kNow, kDefaults, allowed()},
                      ThrottleCase{"one failure just now", {1, kNow}, kNow, kDefaults, allowed()},
                      ThrottleCase{
                          "four failures just now", {4, kNow}, kNow, kDefaults, allowed()}));

INSTANTIATE_TEST_SUITE_P(
    BackOff, DecideThrottle,
    ::testing::Values(
        ThrottleCase{"5th failure waits 60", {5, kNow}, kNow, kDefaults, wait(60)},
        ThrottleCase{"6th failure waits 120", {6, kNow}, kNow, kDefaults, wait(120)},
        ThrottleCase{"7th failure waits 240", {7, kNow}, kNow, kDefaults, wait(240)},
        ThrottleCase{"8th failure waits 480", {8, kNow}, kNow, kDefaults, wait(480)},
        ThrottleCase{"9th failure is capped at 900", {9, kNow}, kNow, kDefaults, wait(900)},
        ThrottleCase{"10th failure stays at 900", {10, kNow}, kNow, kDefaults, wait(900)},
        ThrottleCase{"max_failures 1 waits after the first",
                     {1, kNow},
                     kNow,
                     {1, 60, 900, 3600},
                     wait(60)}));

INSTANTIATE_TEST_SUITE_P(
    RetryAfter, DecideThrottle,
    ::testing::Values(
        ThrottleCase{"5 failures, 1 s ago", {5, kNow - 1}, kNow, kDefaults, wait(59)},
        ThrottleCase{"5 failures, 59 s ago", {5, kNow - 59}, kNow, kDefaults, wait(1)},
        ThrottleCase{"5 failures, 60 s ago", {5, kNow - 60}, kNow, kDefaults, allowed()},
        ThrottleCase{"6 failures, 119 s ago", {6, kNow - 119}, kNow, kDefaults, wait(1)},
        ThrottleCase{"6 failures, 120 s ago", {6, kNow - 120}, kNow, kDefaults, allowed()},
        ThrottleCase{"20 failures, 899 s ago", {20, kNow - 899}, kNow, kDefaults, wait(1)},
        ThrottleCase{"20 failures, 900 s ago", {20, kNow - 900}, kNow, kDefaults, allowed()},
        ThrottleCase{"a last failure in the future counts as now",
                     {5, kNow + 30},
                     kNow,
                     kDefaults,
                     wait(60)}));

INSTANTIATE_TEST_SUITE_P(
    Forgetting, DecideThrottle,
    ::testing::Values(
        ThrottleCase{
            "within the window still waits", {9, kNow - 99}, kNow, kShortMemory, wait(801)},
        ThrottleCase{"exactly forget_after old still counts",
                     {9, kNow - 100},
                     kNow,
                     kShortMemory,
                     wait(800)},
        ThrottleCase{
            "older than forget_after is forgotten", {9, kNow - 101}, kNow, kShortMemory, allowed()},
        ThrottleCase{
            "a day old under the defaults", {1000, kNow - 86400}, kNow, kDefaults, allowed()}));

INSTANTIATE_TEST_SUITE_P(
    AbsurdValues, DecideThrottle,
    ::testing::Values(
        ThrottleCase{"the most failures there are", {kMax, kNow}, kNow, kDefaults, wait(900)},
        ThrottleCase{"INT column maximum", {2147483647, kNow - 1}, kNow, kDefaults, wait(899)},
        ThrottleCase{"a huge cap is reached without overflow",
                     {kMax, kNow},
                     kNow,
                     {5, kMax / 2 + 1, kMax, kMax},
                     wait(kMax)},
        ThrottleCase{
            "a base above the cap is capped", {5, kNow}, kNow, {5, 5000, 900, 3600}, wait(900)},
        ThrottleCase{"the elapsed time saturates", {kMax, kMin}, kMax, kDefaults, allowed()},
        ThrottleCase{"negative failures", {-5, kNow}, kNow, kDefaults, allowed()}));

// An attempt counted before its password check: how many tries a burst of parallel attempts
// gets, compared with the same attempts one after another.
void expect_decision(const ThrottleDecision& got, const ThrottleDecision& expected) {
  EXPECT_EQ(got.allowed, expected.allowed);
  EXPECT_EQ(got.retry_after_seconds, expected.retry_after_seconds);
}

TEST(DecideCountedAttempt, AloneTheCheckStands) {
  // Four earlier failures, counted fifth: as allowed as the check said.
  expect_decision(decide_counted_attempt({4, kNow - 10}, {5, kNow}, kNow, kDefaults), allowed());
  // Five failures whose wait is over: the sixth try may go ahead.
  expect_decision(decide_counted_attempt({5, kNow - 60}, {6, kNow}, kNow, kDefaults), allowed());
}

TEST(DecideCountedAttempt, AfterAForgottenCountTheFirstTryIsAlone) {
  expect_decision(decide_counted_attempt({9, kNow - 3601}, {1, kNow}, kNow, kDefaults), allowed());
}

TEST(DecideCountedAttempt, InABurstOnlyTheFirstFiveGetATry) {
  // Sixteen attempts all passed the check on a clean account, then were counted 1..16.
  int tries = 0;
  for (std::int64_t counted = 1; counted <= 16; ++counted) {
    const auto decision = decide_counted_attempt({0, 0}, {counted, kNow}, kNow, kDefaults);
    if (decision.allowed) {
      ++tries;
    } else {
      EXPECT_GE(decision.retry_after_seconds, 60);
    }
  }
  EXPECT_EQ(tries, 5);
}

TEST(DecideCountedAttempt, OnceTheWaitIsOverABurstGetsOneTry) {
  // Five failures, the minute is up: all of a burst pass the check; only the first counted goes.
  expect_decision(decide_counted_attempt({5, kNow - 60}, {6, kNow}, kNow, kDefaults), allowed());
  expect_decision(decide_counted_attempt({5, kNow - 60}, {7, kNow}, kNow, kDefaults), wait(120));
  expect_decision(decide_counted_attempt({5, kNow - 60}, {8, kNow}, kNow, kDefaults), wait(240));
}

TEST(DecideCountedAttempt, ACountResetMeanwhileByASuccessIsNoBurst) {
  // Someone logged in between the check and the count: the account starts over.
  expect_decision(decide_counted_attempt({4, kNow - 5}, {1, kNow}, kNow, kDefaults), allowed());
}

}  // namespace
}  // namespace authfcgi::domain
