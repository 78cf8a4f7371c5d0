#include "storage/mysql_login_throttle_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "db/db_test_support.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kForgetAfter = 3600;
const std::string kKey = "account:alice@example.com";
const std::string kUncountedAddress = "address:198.51.100.99";

class MysqlLoginThrottleStoreTest : public testing::DbTest {
 protected:
  std::int64_t row_count() {
    std::int64_t count = 0;
    connection_.with_statement(
        "SELECT COUNT(*) FROM login_throttle", [&](sql::PreparedStatement& statement) {
          const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
          rows->next();
          count = rows->getInt64(1);
        });
    return count;
  }

  // One key's counters, read the way a login reads them (paired with a key never counted).
  domain::ThrottleState state_of(std::string_view key) {
    return store_.get(key, kUncountedAddress).account;
  }

  // Counts a failure, then reads the key's state back as the next login would.
  domain::ThrottleState record_and_get(std::string_view key, std::int64_t now,
                                       std::int64_t forget_after_seconds) {
    store_.record_failure(key, now, forget_after_seconds);
    return state_of(key);
  }

  MysqlLoginThrottleStore store_{connection_};
};

void expect_state(const domain::ThrottleState& state, std::int64_t failures,
                  std::int64_t last_failure) {
  EXPECT_EQ(state.failures, failures);
  EXPECT_EQ(state.last_failure, last_failure);
}

TEST_F(MysqlLoginThrottleStoreTest, UnknownKeyHasNoFailures) {
  expect_state(state_of(kKey), 0, 0);
  EXPECT_EQ(row_count(), 0);
}

TEST_F(MysqlLoginThrottleStoreTest, RecordFailureReturnsTheCountersRightAfterIt) {
  expect_state(store_.record_failure(kKey, kNow, kForgetAfter), 1, kNow);
  expect_state(store_.record_failure(kKey, kNow + 5, kForgetAfter), 2, kNow + 5);
  // A worker whose clock is behind: counted, and the last failure does not move back.
  expect_state(store_.record_failure(kKey, kNow + 1, kForgetAfter), 3, kNow + 5);
  // Past the window the count starts over, and the caller is told so.
  expect_state(store_.record_failure(kKey, kNow + 5 + kForgetAfter + 1, kForgetAfter), 1,
               kNow + 5 + kForgetAfter + 1);
}

TEST_F(MysqlLoginThrottleStoreTest, GetReadsTheAccountAndTheAddressTogether) {
  const std::string address = "address:192.0.2.7";
  store_.record_failure(kKey, kNow, kForgetAfter);
  store_.record_failure(kKey, kNow + 1, kForgetAfter);
  store_.record_failure(address, kNow + 2, kForgetAfter);
  const auto both = store_.get(kKey, address);
  expect_state(both.account, 2, kNow + 1);
  expect_state(both.address, 1, kNow + 2);
  // Either side may be missing, and the sides never swap.
  const auto account_only = store_.get(kKey, kUncountedAddress);
  expect_state(account_only.account, 2, kNow + 1);
  expect_state(account_only.address, 0, 0);
  const auto address_only = store_.get("account:nobody@example.com", address);
  expect_state(address_only.account, 0, 0);
  expect_state(address_only.address, 1, kNow + 2);
}

TEST_F(MysqlLoginThrottleStoreTest, RecordFailureCountsAndKeepsTheLastTime) {
  expect_state(record_and_get(kKey, kNow, kForgetAfter), 1, kNow);
  expect_state(record_and_get(kKey, kNow + 10, kForgetAfter), 2, kNow + 10);
  expect_state(record_and_get(kKey, kNow + 20, kForgetAfter), 3, kNow + 20);
  expect_state(state_of(kKey), 3, kNow + 20);
}

TEST_F(MysqlLoginThrottleStoreTest, FailureOlderThanTheForgetWindowStartsOverAtOne) {
  for (int i = 0; i < 3; ++i) {
    store_.record_failure(kKey, kNow, kForgetAfter);
  }
  expect_state(record_and_get(kKey, kNow + kForgetAfter + 1, kForgetAfter), 1,
               kNow + kForgetAfter + 1);
  expect_state(record_and_get(kKey, kNow + kForgetAfter + 2, kForgetAfter), 2,
               kNow + kForgetAfter + 2);
}

TEST_F(MysqlLoginThrottleStoreTest, FailureExactlyForgetAfterOldStillCounts) {
  // The same boundary as decide_throttle: only failures *older* than the window are forgotten.
  store_.record_failure(kKey, kNow, kForgetAfter);
  expect_state(record_and_get(kKey, kNow + kForgetAfter, kForgetAfter), 2, kNow + kForgetAfter);
}

TEST_F(MysqlLoginThrottleStoreTest, LastFailureNeverMovesBack) {
  // A worker whose request started earlier may commit second.
  store_.record_failure(kKey, kNow + 10, kForgetAfter);
  expect_state(record_and_get(kKey, kNow, kForgetAfter), 2, kNow + 10);
}

TEST_F(MysqlLoginThrottleStoreTest, ResetForgetsTheKeyAndCountingRestarts) {
  store_.record_failure(kKey, kNow, kForgetAfter);
  store_.record_failure(kKey, kNow, kForgetAfter);
  store_.reset(kKey);
  expect_state(state_of(kKey), 0, 0);
  expect_state(record_and_get(kKey, kNow + 1, kForgetAfter), 1, kNow + 1);
}

TEST_F(MysqlLoginThrottleStoreTest, ResetOfAnUnknownKeyIsHarmless) {
  EXPECT_NO_THROW(store_.reset("account:nobody@example.com"));
  EXPECT_EQ(row_count(), 0);
}

TEST_F(MysqlLoginThrottleStoreTest, KeysAreIndependent) {
  const std::string address = "address:192.0.2.1";
  const std::string other_account = "account:bob@example.com";
  // utf8mb4_bin: keys differing only by case are different keys.
  const std::string upper = "account:Alice@example.com";
  store_.record_failure(kKey, kNow, kForgetAfter);
  store_.record_failure(kKey, kNow, kForgetAfter);
  store_.record_failure(address, kNow + 1, kForgetAfter);
  store_.record_failure(upper, kNow + 2, kForgetAfter);
  expect_state(state_of(kKey), 2, kNow);
  expect_state(state_of(address), 1, kNow + 1);
  expect_state(state_of(upper), 1, kNow + 2);
  expect_state(state_of(other_account), 0, 0);

  store_.reset(kKey);
  expect_state(state_of(kKey), 0, 0);
  expect_state(state_of(address), 1, kNow + 1);
  expect_state(state_of(upper), 1, kNow + 2);
}

TEST_F(MysqlLoginThrottleStoreTest, InjectionLookingKeysAreStoredLiterally) {
  const std::vector<std::string> keys = {
      "account:x'; DROP TABLE login_throttle; --",
      "account:' OR '1'='1",
      "account:\" OR \"\"=\"",
      "address:\\'; --",
      "account:%",
      "account:_",
      "account:josé@example.com",
  };
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t n = 0; n <= i; ++n) {
      store_.record_failure(keys[i], kNow, kForgetAfter);
    }
  }
  EXPECT_EQ(row_count(), static_cast<std::int64_t>(keys.size()));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    expect_state(state_of(keys[i]), static_cast<std::int64_t>(i) + 1, kNow);
  }
  // Neither '%' nor '_' acted as a wildcard.
  expect_state(state_of("account:a"), 0, 0);
  store_.reset("account:%");
  EXPECT_EQ(row_count(), static_cast<std::int64_t>(keys.size()) - 1);
  expect_state(state_of("account:_"), 6, kNow);
}

TEST_F(MysqlLoginThrottleStoreTest, KeysUpTo191BytesAreAccepted) {
  // 95 two-byte characters plus one byte: 191 bytes.
  std::string multibyte = "a";
  for (int i = 0; i < 95; ++i) {
    multibyte += "\xc3\xa9";
  }
  const std::string ascii(MysqlLoginThrottleStore::kMaxKeyBytes, 'k');
  ASSERT_EQ(multibyte.size(), MysqlLoginThrottleStore::kMaxKeyBytes);
  expect_state(record_and_get(multibyte, kNow, kForgetAfter), 1, kNow);
  expect_state(record_and_get(ascii, kNow, kForgetAfter), 1, kNow);
  expect_state(state_of(multibyte), 1, kNow);
  expect_state(state_of(ascii), 1, kNow);
}

TEST_F(MysqlLoginThrottleStoreTest, LongerKeysAreRejectedNotTruncated) {
  const std::string too_long(MysqlLoginThrottleStore::kMaxKeyBytes + 1, 'k');
  EXPECT_THROW(store_.record_failure(too_long, kNow, kForgetAfter), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(store_.get(too_long, kUncountedAddress)), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(store_.get(kKey, too_long)), std::invalid_argument);
  EXPECT_THROW(store_.reset(too_long), std::invalid_argument);
  EXPECT_EQ(row_count(), 0);
}

TEST_F(MysqlLoginThrottleStoreTest, ConcurrentFailuresAreAllCountedAndEachLearnsItsOwnCount) {
  constexpr int kThreads = 4;
  constexpr int kFailuresPerThread = 25;
  constexpr int kTotal = kThreads * kFailuresPerThread;
  const storage::DatabaseSettings config = testing::test_database_config();
  std::atomic<int> errors{0};
  std::atomic<bool> out_of_order{false};
  // Login relies on this: of concurrent attempts, each one is told a different count, so no
  // two of them can both believe they are, say, the 5th.
  std::vector<std::atomic<int>> told(kTotal + 1);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      try {
        // One connection per thread, as the workers have.
        MysqlConnection connection(config);
        MysqlLoginThrottleStore store(connection);
        std::int64_t previous = 0;
        for (int i = 0; i < kFailuresPerThread; ++i) {
          const auto counted = store.record_failure(kKey, kNow, kForgetAfter);
          if (counted.failures < 1 || counted.failures > kTotal || counted.last_failure != kNow) {
            ++errors;
            continue;
          }
          ++told[static_cast<std::size_t>(counted.failures)];
          const auto state = store.get(kKey, kUncountedAddress).account;
          // Each thread's own failure is included in what it reads next.
          if (state.failures < counted.failures || counted.failures <= previous) {
            out_of_order = true;
          }
          previous = counted.failures;
        }
      } catch (const std::exception&) {
        ++errors;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(errors.load(), 0);
  EXPECT_FALSE(out_of_order.load());
  expect_state(state_of(kKey), kTotal, kNow);
  for (int count = 1; count <= kTotal; ++count) {
    EXPECT_EQ(told[static_cast<std::size_t>(count)].load(), 1) << "count " << count;
  }
}

}  // namespace
}  // namespace authfcgi::storage
