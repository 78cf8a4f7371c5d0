// The login throttle's MariaDB store through its contract (domain/login_throttle_store.h),
// against the real database: what each key's history reads back as, that admissions on a key
// run one after the other across connections, and that the table stays bounded under a spray.
#include "storage/mysql_login_throttle_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "db/db_test_support.h"
#include "domain/login_throttle.h"
#include "domain/random_source.h"
#include "fakes/fake_clock.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

using domain::AdmitOutcome;
using domain::FailureExpiry;
using domain::KeyHistory;
using domain::ThrottleKey;
using domain::ThrottleScope;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kLease = kNow + 120;
constexpr std::int64_t kPairWindow = 3600;
constexpr std::int64_t kAddressWindow = 86400;

ThrottleKey pair_key(std::string email, std::string address) {
  return {ThrottleScope::Pair, std::move(email), std::move(address), {}};
}
ThrottleKey address_key(std::string address) {
  return {ThrottleScope::Address, {}, std::move(address), {}};
}
ThrottleKey account_key(std::string email) {
  return {ThrottleScope::Account, std::move(email), {}, {}};
}
ThrottleKey device_key(std::string email, std::string device) {
  return {ThrottleScope::Device, std::move(email), {}, std::move(device)};
}

using Marks = std::vector<domain::LoginThrottleStore::PendingMark>;

std::vector<std::size_t> all_of(std::size_t count) {
  std::vector<std::size_t> indices(count);
  for (std::size_t i = 0; i < count; ++i) {
    indices[i] = i;
  }
  return indices;
}

// Pending marks on keys[indices...], each counting until expires_at should the attempt fail.
Marks marks_for(const std::vector<std::size_t>& indices, std::int64_t expires_at) {
  Marks marks;
  for (const std::size_t index : indices) {
    marks.push_back({index, expires_at});
  }
  return marks;
}

std::int64_t query_int(MysqlConnection& connection, const std::string& sql_text) {
  std::int64_t value = -1;
  connection.with_statement(sql_text, [&](sql::PreparedStatement& statement) {
    const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
    value = rows->next() ? rows->getInt64(1) : -1;
  });
  return value;
}

std::int64_t failure_rows(MysqlConnection& connection) {
  return query_int(connection, "SELECT COUNT(*) FROM login_failures");
}

std::int64_t lock_rows(MysqlConnection& connection) {
  return query_int(connection, "SELECT COUNT(*) FROM login_throttle_locks");
}

// Rows of one key, however the store stores them: counted by the key's own text.
std::int64_t rows_of(MysqlConnection& connection, const ThrottleKey& key) {
  std::int64_t count = 0;
  connection.with_statement(
      "SELECT COUNT(*) FROM login_failures WHERE key_hash = UNHEX(SHA2(?, 256))",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, key.text());
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        count = rows->next() ? rows->getInt64(1) : -1;
      });
  return count;
}

// The Galera suite runs this binary against a Galera node, where every commit is certified
// across the cluster; the spray there is smaller so the suite's time limit holds.
bool on_galera() {
  const char* galera = std::getenv("AUTHFCGI_TEST_DB_GALERA");
  return galera != nullptr && std::string(galera) == "1";
}

class MysqlLoginThrottleStoreTest : public testing::DbTest {
 protected:
  // The histories admit hands to decide, admitting nothing.
  std::vector<KeyHistory> read(const std::vector<ThrottleKey>& keys, std::int64_t now) {
    return read_with(store_, keys, now);
  }

  static std::vector<KeyHistory> read_with(MysqlLoginThrottleStore& store,
                                           const std::vector<ThrottleKey>& keys, std::int64_t now) {
    std::vector<KeyHistory> seen;
    bool called = false;
    const AdmitOutcome outcome =
        store.admit(keys, "reader", now, now + 1, [&](std::span<const KeyHistory> histories) {
          called = true;
          seen.assign(histories.begin(), histories.end());
          return Marks{};
        });
    EXPECT_EQ(outcome, AdmitOutcome::Decided);
    EXPECT_TRUE(called);
    // The lock-free read sees the same.
    const std::vector<KeyHistory> unlocked = store.read(keys, now);
    EXPECT_EQ(unlocked.size(), seen.size());
    for (std::size_t i = 0; i < std::min(unlocked.size(), seen.size()); ++i) {
      EXPECT_EQ(unlocked[i].failures, seen[i].failures) << i;
      EXPECT_EQ(unlocked[i].last_failure, seen[i].last_failure) << i;
      EXPECT_EQ(unlocked[i].first_expiry, seen[i].first_expiry) << i;
      EXPECT_EQ(unlocked[i].pending, seen[i].pending) << i;
    }
    return seen;
  }

  KeyHistory read_one(const ThrottleKey& key, std::int64_t now) { return read({key}, now).at(0); }

  // Marks `attempt` pending on keys[chosen...], counting until expires_at should it fail.
  void admit(const std::vector<ThrottleKey>& keys, const std::string& attempt,
             const std::vector<std::size_t>& chosen, std::int64_t now = kNow,
             std::int64_t lease_until = kLease, std::int64_t expires_at = kNow + kPairWindow) {
    const AdmitOutcome outcome =
        store_.admit(keys, attempt, now, lease_until, [&](std::span<const KeyHistory> histories) {
          EXPECT_EQ(histories.size(), keys.size());
          return marks_for(chosen, expires_at);
        });
    ASSERT_EQ(outcome, AdmitOutcome::Decided);
  }

  // One attempt admitted on every key and then failed at `now`, counting until `expires_at`.
  void fail(const std::vector<ThrottleKey>& keys, const std::string& attempt, std::int64_t now,
            std::int64_t expires_at) {
    admit(keys, attempt, all_of(keys.size()), now, now + 120, expires_at);
    std::vector<FailureExpiry> expiries;
    for (const ThrottleKey& key : keys) {
      expiries.push_back({key, expires_at});
    }
    store_.record_failure(attempt, now, expiries);
  }

  MysqlLoginThrottleStore store_{connection_};
};

// ---------------------------------------------------------------------------------------------
// admit: what decide is shown, and what it leaves behind

TEST_F(MysqlLoginThrottleStoreTest, UnknownKeysHaveEmptyHistoriesAndAnEmptyChoiceAddsNoRow) {
  const std::vector<ThrottleKey> keys{pair_key("alice@example.com", "192.0.2.1"),
                                      address_key("192.0.2.1"), account_key("alice@example.com"),
                                      device_key("alice@example.com", "dev1")};
  const std::vector<KeyHistory> histories = read(keys, kNow);
  ASSERT_EQ(histories.size(), 4u);
  for (const KeyHistory& history : histories) {
    EXPECT_EQ(history.failures, 0);
    EXPECT_EQ(history.pending, 0);
  }
  EXPECT_EQ(failure_rows(connection_), 0);
}

TEST_F(MysqlLoginThrottleStoreTest, ChosenKeysArePendingUntilTheLeaseEndsThenCountAsFailures) {
  const std::vector<ThrottleKey> keys{pair_key("alice@example.com", "192.0.2.1"),
                                      address_key("192.0.2.1"), account_key("alice@example.com")};
  admit(keys, "attempt-1", {0, 2}, kNow, kNow + 120, kNow + kPairWindow);

  std::vector<KeyHistory> histories = read(keys, kNow);
  EXPECT_EQ(histories[0].pending, 1);
  EXPECT_EQ(histories[1].pending, 0);
  EXPECT_EQ(histories[2].pending, 1);
  for (const KeyHistory& history : histories) {
    EXPECT_EQ(history.failures, 0) << "in flight is not yet a failure";
  }
  EXPECT_EQ(failure_rows(connection_), 2);
  EXPECT_EQ(read(keys, kNow + 119)[0].pending, 1);

  // Never resolved (a worker killed mid-check, a connection cut by the client): once the lease
  // ends the attempt counts as the failure it may have been, so cutting it short is no free try.
  histories = read(keys, kNow + 120);
  for (const std::size_t i : {0u, 2u}) {
    EXPECT_EQ(histories[i].pending, 0) << i;
    EXPECT_EQ(histories[i].failures, 1) << i;
    EXPECT_EQ(histories[i].first_expiry, kNow + kPairWindow) << i;
  }
  EXPECT_EQ(histories[1].failures, 0);
  EXPECT_EQ(read(keys, kNow + kPairWindow)[0].failures, 0);
}

TEST_F(MysqlLoginThrottleStoreTest, HistoriesFollowTheOrderOfTheKeysGiven) {
  const ThrottleKey pair = pair_key("alice@example.com", "192.0.2.1");
  const ThrottleKey account = account_key("alice@example.com");
  fail({pair}, "a1", kNow, kNow + kPairWindow);
  fail({account}, "a2", kNow, kNow + kPairWindow);
  fail({account}, "a3", kNow, kNow + kPairWindow);

  std::vector<KeyHistory> histories = read({pair, account}, kNow);
  EXPECT_EQ(histories[0].failures, 1);
  EXPECT_EQ(histories[1].failures, 2);
  histories = read({account, pair}, kNow);
  EXPECT_EQ(histories[0].failures, 2);
  EXPECT_EQ(histories[1].failures, 1);
}

TEST_F(MysqlLoginThrottleStoreTest, FailuresCountUntilTheirExpiryOnly) {
  const ThrottleKey account = account_key("alice@example.com");
  // Recorded out of order (hosts whose clocks differ): the newest and the oldest still win.
  fail({account}, "new", kNow + 5, kNow + 5 + kPairWindow);
  fail({account}, "old", kNow, kNow + 10);

  const KeyHistory both = read_one(account, kNow + 9);
  EXPECT_EQ(both.failures, 2);
  EXPECT_EQ(both.last_failure, kNow + 5);
  EXPECT_EQ(both.first_expiry, kNow + 10);
  const KeyHistory later = read_one(account, kNow + 10);
  EXPECT_EQ(later.failures, 1) << "a failure at its expiry no longer counts";
  EXPECT_EQ(later.last_failure, kNow + 5);
  EXPECT_EQ(later.first_expiry, kNow + 5 + kPairWindow);
  EXPECT_EQ(read_one(account, kNow + 5 + kPairWindow).failures, 0);
}

TEST_F(MysqlLoginThrottleStoreTest, EveryKeyCountsOnlyItsOwnFailures) {
  // Keys that share parts: the same email, the same address, the same marker id.
  const std::vector<ThrottleKey> keys{
      pair_key("alice@example.com", "192.0.2.1"),
      pair_key("alice@example.com", "192.0.2.2"),
      pair_key("bob@example.com", "192.0.2.1"),
      address_key("192.0.2.1"),
      address_key("192.0.2.2"),
      account_key("alice@example.com"),
      account_key("bob@example.com"),
      device_key("alice@example.com", "dev1"),
      device_key("alice@example.com", "dev2"),
      device_key("bob@example.com", "dev1"),
  };
  // Key i gets i + 1 failures.
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t n = 0; n <= i; ++n) {
      fail({keys[i]}, "k" + std::to_string(i) + "-" + std::to_string(n), kNow, kNow + 600);
    }
  }
  const std::vector<KeyHistory> together = read(keys, kNow);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(together[i].failures, static_cast<std::int64_t>(i + 1)) << keys[i].text();
    EXPECT_EQ(read_one(keys[i], kNow).failures, static_cast<std::int64_t>(i + 1)) << keys[i].text();
  }
}

TEST_F(MysqlLoginThrottleStoreTest, EmailsDifferingInCaseOrATrailingSpaceAreDifferentKeys) {
  const ThrottleKey alice = account_key("alice@example.com");
  for (int n = 0; n < 3; ++n) {
    fail({alice, pair_key("alice@example.com", "192.0.2.1")}, "a" + std::to_string(n), kNow,
         kNow + 600);
  }
  const std::vector<KeyHistory> histories =
      read({account_key("Alice@example.com"), account_key("alice@example.com "),
            account_key(" alice@example.com"), pair_key("ALICE@EXAMPLE.COM", "192.0.2.1"),
            pair_key("alice@example.com ", "192.0.2.1"), alice},
           kNow);
  for (std::size_t i = 0; i + 1 < histories.size(); ++i) {
    EXPECT_EQ(histories[i].failures, 0) << i;
  }
  EXPECT_EQ(histories.back().failures, 3);

  // Nor does clearing one clear the other.
  fail({account_key("alice@example.com ")}, "spaced", kNow, kNow + 600);
  EXPECT_EQ(store_.clear({.email = "alice@example.com", .address = std::nullopt}), 2u);
  EXPECT_EQ(read_one(account_key("alice@example.com "), kNow).failures, 1);
}

TEST_F(MysqlLoginThrottleStoreTest, AddressesSharingTheirFirst255BytesStayDifferentKeys) {
  const std::string prefix(255, 'a');
  const ThrottleKey first = address_key(prefix + "1");
  const ThrottleKey second = address_key(prefix + "2");
  fail({first}, "f1", kNow, kNow + 600);
  fail({first}, "f2", kNow, kNow + 600);
  const std::vector<KeyHistory> histories = read({first, second}, kNow);
  EXPECT_EQ(histories[0].failures, 2);
  EXPECT_EQ(histories[1].failures, 0);
}

TEST_F(MysqlLoginThrottleStoreTest, InjectionLookingEmailsAreStoredAndMatchedLiterally) {
  const std::vector<std::string> emails{
      "x' OR '1'='1@example.com",
      "a\"); DROP TABLE login_failures; --@example.com",
      "%@example.com",
      "_@example.com",
      "back\\slash@example.com",
      "\xc3\xa9l\xc3\xa8ve@example.com",
      std::string("nul\0byte@example.com", 20),
  };
  for (std::size_t i = 0; i < emails.size(); ++i) {
    fail({account_key(emails[i])}, "inj" + std::to_string(i), kNow, kNow + 600);
  }
  fail({account_key("bob@example.com")}, "bob", kNow, kNow + 600);

  std::vector<std::string> listed;
  for (const domain::ThrottleListing& listing : store_.list(kNow)) {
    listed.push_back(listing.key.email);
  }
  for (const std::string& email : emails) {
    EXPECT_EQ(std::count(listed.begin(), listed.end(), email), 1) << email;
  }
  for (const std::string& email : emails) {
    EXPECT_EQ(read_one(account_key(email), kNow).failures, 1) << email;
  }
  // "%" and "_" are no wildcards, a quote ends nothing: each clear takes its own key only.
  for (std::size_t i = 0; i < emails.size(); ++i) {
    EXPECT_EQ(store_.clear({.email = emails[i], .address = std::nullopt}), 1u) << emails[i];
    EXPECT_EQ(failure_rows(connection_), static_cast<std::int64_t>(emails.size() - i));
  }
  EXPECT_EQ(read_one(account_key("bob@example.com"), kNow).failures, 1);
}

// ---------------------------------------------------------------------------------------------
// record_failure and forget

TEST_F(MysqlLoginThrottleStoreTest, RecordFailureTurnsThatAttemptsMarksIntoFailuresPerKey) {
  const ThrottleKey pair = pair_key("alice@example.com", "192.0.2.1");
  const ThrottleKey address = address_key("192.0.2.1");
  const ThrottleKey account = account_key("alice@example.com");
  const std::vector<ThrottleKey> keys{pair, address, account};
  admit(keys, "mine", {0, 1, 2});
  admit(keys, "theirs", {0, 1, 2});

  const std::int64_t failed_at = kNow + 7;
  const std::vector<FailureExpiry> expiries{{pair, failed_at + kPairWindow},
                                            {address, failed_at + kAddressWindow},
                                            {account, failed_at + kPairWindow}};
  store_.record_failure("mine", failed_at, expiries);

  std::vector<KeyHistory> histories = read(keys, failed_at);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(histories[i].failures, 1) << i;
    EXPECT_EQ(histories[i].last_failure, failed_at) << "failed when its password was checked";
    EXPECT_EQ(histories[i].first_expiry, expiries[i].expires_at) << i;
    EXPECT_EQ(histories[i].pending, 1) << "the other attempt is still in flight";
  }
  // Each key's failure ends with its own window: the address's outlasts the pair's.
  histories = read(keys, failed_at + kPairWindow);
  EXPECT_EQ(histories[0].failures, 0);
  EXPECT_EQ(histories[1].failures, 1);
  EXPECT_EQ(histories[2].failures, 0);

  // An unknown attempt (resolved twice, or cleared meanwhile) changes nothing.
  store_.record_failure("nobody", failed_at, expiries);
  EXPECT_EQ(read_one(pair, failed_at).pending, 1);
  EXPECT_EQ(failure_rows(connection_), 6);
}

TEST_F(MysqlLoginThrottleStoreTest, ForgetWithoutResetDropsOnlyThatAttemptsMarks) {
  const ThrottleKey pair = pair_key("alice@example.com", "192.0.2.1");
  const ThrottleKey address = address_key("192.0.2.1");
  fail({pair, address}, "earlier", kNow, kNow + kPairWindow);
  admit({pair, address}, "mine", {0, 1});
  admit({pair, address}, "theirs", {0, 1});

  store_.forget("mine", {});
  const std::vector<KeyHistory> histories = read({pair, address}, kNow);
  for (const KeyHistory& history : histories) {
    EXPECT_EQ(history.failures, 1);
    EXPECT_EQ(history.pending, 1);
  }
}

TEST_F(MysqlLoginThrottleStoreTest, ForgetWithResetAlsoDropsTheResetKeysFailuresOnly) {
  const ThrottleKey pair = pair_key("alice@example.com", "192.0.2.1");
  const ThrottleKey address = address_key("192.0.2.1");
  const ThrottleKey device = device_key("alice@example.com", "dev1");
  const ThrottleKey other_pair = pair_key("alice@example.com", "192.0.2.2");
  fail({pair, address, other_pair}, "f1", kNow, kNow + kPairWindow);
  fail({pair, address, device}, "f2", kNow, kNow + kPairWindow);
  admit({pair, address}, "theirs", {0, 1});
  admit({pair, address, device}, "mine", {0, 1, 2});

  // A success: the pair's and the marker's failures go, the address's stay, and so does the
  // other attempt in flight on the pair.
  store_.forget("mine", std::vector<ThrottleKey>{pair, device});
  const std::vector<KeyHistory> histories = read({pair, address, device, other_pair}, kNow);
  EXPECT_EQ(histories[0].failures, 0);
  EXPECT_EQ(histories[0].pending, 1);
  EXPECT_EQ(histories[1].failures, 2);
  EXPECT_EQ(histories[1].pending, 1);
  EXPECT_EQ(histories[2].failures, 0);
  EXPECT_EQ(histories[2].pending, 0);
  EXPECT_EQ(histories[3].failures, 1);
}

// ---------------------------------------------------------------------------------------------
// list, clear, prune

TEST_F(MysqlLoginThrottleStoreTest, ListShowsEachKeyWithItsCountedFailuresOnly) {
  const ThrottleKey pair = pair_key("alice@example.com", "192.0.2.1");
  const ThrottleKey device = device_key("alice@example.com", "dev1");
  fail({pair, device}, "f1", kNow, kNow + kPairWindow);
  fail({pair}, "f2", kNow + 3, kNow + 3 + kPairWindow);
  fail({account_key("old@example.com")}, "expired", kNow - 100, kNow);
  admit({address_key("192.0.2.9")}, "in-flight", {0});

  const std::vector<domain::ThrottleListing> listings = store_.list(kNow);
  ASSERT_EQ(listings.size(), 2u);
  std::map<ThrottleScope, domain::ThrottleListing> by_scope;
  for (const domain::ThrottleListing& listing : listings) {
    by_scope[listing.key.scope] = listing;
  }
  ASSERT_EQ(by_scope.count(ThrottleScope::Pair), 1u);
  ASSERT_EQ(by_scope.count(ThrottleScope::Device), 1u);
  EXPECT_EQ(by_scope[ThrottleScope::Pair].key, pair);
  EXPECT_EQ(by_scope[ThrottleScope::Device].key, device);
  const KeyHistory& pair_history = by_scope[ThrottleScope::Pair].history;
  EXPECT_EQ(pair_history.failures, 2);
  EXPECT_EQ(pair_history.last_failure, kNow + 3);
  EXPECT_EQ(pair_history.first_expiry, kNow + kPairWindow);
  EXPECT_EQ(pair_history.pending, 0);
  EXPECT_EQ(by_scope[ThrottleScope::Device].history.failures, 1);
}

class ClearTest : public MysqlLoginThrottleStoreTest {
 protected:
  void SetUp() override {
    MysqlLoginThrottleStoreTest::SetUp();
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      fail({keys_[i]}, "f" + std::to_string(i), kNow, kNow + kPairWindow);
    }
    // An attempt in flight counts as a key that has something to clear.
    admit({pair_key("carol@example.com", "192.0.2.1")}, "in-flight", {0});
  }

  std::vector<bool> still_counted() {
    std::vector<bool> counted;
    for (const KeyHistory& history : read(keys_, kNow)) {
      counted.push_back(history.failures > 0);
    }
    return counted;
  }

  const std::vector<ThrottleKey> keys_{
      pair_key("alice@example.com", "192.0.2.1"),  // 0
      pair_key("alice@example.com", "192.0.2.2"),  // 1
      pair_key("bob@example.com", "192.0.2.1"),    // 2
      address_key("192.0.2.1"),                    // 3
      address_key("192.0.2.2"),                    // 4
      account_key("alice@example.com"),            // 5
      account_key("bob@example.com"),              // 6
      device_key("alice@example.com", "dev1"),     // 7
      device_key("bob@example.com", "dev1"),       // 8
  };
};

TEST_F(ClearTest, ByEmailClearsThatEmailsPairAccountAndDeviceKeys) {
  EXPECT_EQ(store_.clear({.email = "alice@example.com", .address = std::nullopt}), 4u);
  EXPECT_EQ(still_counted(),
            (std::vector<bool>{false, false, true, true, true, false, true, false, true}));
  EXPECT_EQ(store_.clear({.email = "alice@example.com", .address = std::nullopt}), 0u);
}

TEST_F(ClearTest, ByAddressClearsThatAddressesPairAndAddressKeys) {
  EXPECT_EQ(store_.clear({.email = std::nullopt, .address = "192.0.2.1"}), 4u);
  EXPECT_EQ(still_counted(),
            (std::vector<bool>{false, true, false, false, true, true, true, true, true}));
  EXPECT_EQ(read_one(pair_key("carol@example.com", "192.0.2.1"), kNow).pending, 0);
}

TEST_F(ClearTest, AnEmptyEmailOrAddressNamesNoKey) {
  // The address key has no email and the account key no address: neither is "the key of ''".
  EXPECT_EQ(store_.clear({.email = "", .address = std::nullopt}), 0u);
  EXPECT_EQ(store_.clear({.email = std::nullopt, .address = ""}), 0u);
  EXPECT_EQ(still_counted(), std::vector<bool>(keys_.size(), true));
}

TEST_F(ClearTest, WithoutFilterClearsEverything) {
  EXPECT_EQ(store_.clear({}), keys_.size() + 1);
  EXPECT_EQ(failure_rows(connection_), 0);
  EXPECT_TRUE(store_.list(kNow).empty());
}

TEST_F(MysqlLoginThrottleStoreTest, PruneDeletesOnlyRowsThatNoLongerCountAndAtMostMaxRows) {
  const ThrottleKey account = account_key("alice@example.com");
  for (int n = 0; n < 7; ++n) {
    fail({account}, "done" + std::to_string(n), kNow - 100, kNow - n);  // expired by kNow
  }
  fail({account}, "live", kNow - 100, kNow + 1);
  admit({account}, "leased", {0}, kNow - 1, kNow + 60);

  EXPECT_EQ(store_.prune(kNow, 5), 5u);
  EXPECT_EQ(failure_rows(connection_), 4);
  EXPECT_EQ(store_.prune(kNow, 5), 2u);
  EXPECT_EQ(store_.prune(kNow, 5), 0u);
  const KeyHistory history = read_one(account, kNow);
  EXPECT_EQ(history.failures, 1);
  EXPECT_EQ(history.pending, 1);
  EXPECT_EQ(failure_rows(connection_), 2);
}

TEST_F(MysqlLoginThrottleStoreTest, PruneDropsLockRowsIdleForTenMinutes) {
  for (int n = 0; n < 4; ++n) {
    (void)read({account_key("idle" + std::to_string(n) + "@example.com")}, kNow);
  }
  (void)read({account_key("recent@example.com")}, kNow + 60);
  ASSERT_EQ(lock_rows(connection_), 5);

  EXPECT_EQ(store_.prune(kNow + 600, 100), 0u) << "ten minutes idle is not yet over";
  EXPECT_EQ(store_.prune(kNow + 601, 3), 3u);
  EXPECT_EQ(store_.prune(kNow + 601, 3), 1u);
  EXPECT_EQ(lock_rows(connection_), 1);
  // A key whose lock row was pruned is admitted as before.
  fail({account_key("idle0@example.com")}, "again", kNow + 700, kNow + 800);
  EXPECT_EQ(read_one(account_key("idle0@example.com"), kNow + 700).failures, 1);
}

TEST_F(MysqlLoginThrottleStoreTest, OnePruneCallDeletesAtMostMaxRowsOverBothTables) {
  for (int n = 0; n < 4; ++n) {
    fail({account_key("gone" + std::to_string(n) + "@example.com")}, "g" + std::to_string(n), kNow,
         kNow + 10);
  }
  ASSERT_EQ(lock_rows(connection_), 4);
  const std::int64_t later = kNow + 1000;
  EXPECT_EQ(store_.prune(later, 5), 5u);
  EXPECT_EQ(failure_rows(connection_) + lock_rows(connection_), 3);
  EXPECT_EQ(store_.prune(later, 5), 3u);
  EXPECT_EQ(failure_rows(connection_) + lock_rows(connection_), 0);
}

// ---------------------------------------------------------------------------------------------
// Serialisation across connections: the design rests on it

constexpr std::int64_t kLimit = 5;

// Admits all of `keys` while every one has fewer than kLimit failures and attempts in flight.
Marks admit_below_limit(std::span<const KeyHistory> histories) {
  for (const KeyHistory& history : histories) {
    if (history.failures + history.pending >= kLimit) {
      return {};
    }
  }
  return marks_for(all_of(histories.size()), kNow + kPairWindow);
}

struct RaceResult {
  std::atomic<int> admitted{0};
  std::atomic<int> busy{0};
  std::mutex mutex;
  std::vector<std::string> errors;
};

// Each thread has its own connection and tries `rounds` admissions of keys_for(thread); half of
// the admitted attempts fail at once, the others stay in flight.
template <typename KeysFor>
void race(int threads, int rounds, KeysFor keys_for, RaceResult& result) {
  // Connected first, then released together, so the admissions really overlap.
  std::latch ready(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        MysqlConnection connection(testing::test_database_config());
        MysqlLoginThrottleStore store(connection);
        const std::vector<ThrottleKey> keys = keys_for(t);
        try {
          connection.execute("DO 1");
        } catch (...) {
          ready.count_down();
          throw;
        }
        ready.arrive_and_wait();
        for (int round = 0; round < rounds; ++round) {
          const std::string attempt = "t" + std::to_string(t) + "-" + std::to_string(round);
          bool chose = false;
          const AdmitOutcome outcome =
              store.admit(keys, attempt, kNow, kLease, [&](std::span<const KeyHistory> histories) {
                Marks chosen = admit_below_limit(histories);
                chose = !chosen.empty();
                return chosen;
              });
          if (outcome == AdmitOutcome::Busy) {
            ++result.busy;
            continue;
          }
          if (chose) {
            ++result.admitted;
            if (round % 2 == 0) {
              std::vector<FailureExpiry> expiries;
              for (const ThrottleKey& key : keys) {
                expiries.push_back({key, kNow + kPairWindow});
              }
              store.record_failure(attempt, kNow, expiries);
            }
          }
        }
      } catch (const std::exception& error) {
        const std::scoped_lock lock(result.mutex);
        result.errors.emplace_back(error.what());
      }
    });
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
}

TEST_F(MysqlLoginThrottleStoreTest, ParallelAdmissionsOnOneKeySetNeverExceedTheLimit) {
  const std::vector<ThrottleKey> keys{pair_key("alice@example.com", "192.0.2.1"),
                                      address_key("192.0.2.1"), account_key("alice@example.com")};
  RaceResult result;
  race(
      8, 12, [&](int) { return keys; }, result);

  EXPECT_TRUE(result.errors.empty()) << result.errors.front();
  EXPECT_EQ(result.admitted.load(), kLimit) << result.busy.load() << " busy";
  for (const ThrottleKey& key : keys) {
    EXPECT_EQ(rows_of(connection_, key), kLimit) << key.text();
  }
  for (const KeyHistory& history : read(keys, kNow)) {
    EXPECT_EQ(history.failures + history.pending, kLimit);
  }
}

TEST_F(MysqlLoginThrottleStoreTest, KeysGivenInDifferentOrdersNeitherDeadlockNorOverAdmit) {
  const std::vector<ThrottleKey> keys{pair_key("alice@example.com", "192.0.2.1"),
                                      address_key("192.0.2.1"), account_key("alice@example.com"),
                                      device_key("alice@example.com", "dev1")};
  // Every thread its own order of the four keys.
  RaceResult all_four;
  race(
      6, 10,
      [&](int t) {
        std::vector<ThrottleKey> mine = keys;
        std::rotate(mine.begin(), mine.begin() + (t % 4), mine.end());
        if (t % 2 == 1) {
          std::reverse(mine.begin(), mine.end());
        }
        return mine;
      },
      all_four);
  EXPECT_TRUE(all_four.errors.empty()) << all_four.errors.front();
  // Locks taken in one order for everybody: nobody waits in a circle, so no admission is
  // turned away as Busy (a deadlock) even though every thread names the keys differently.
  EXPECT_LE(all_four.busy.load(), 3) << "only a lock wait timeout on an overloaded host";
  EXPECT_EQ(all_four.admitted.load(), kLimit) << all_four.busy.load() << " busy";
  for (const ThrottleKey& key : keys) {
    EXPECT_EQ(rows_of(connection_, key), kLimit) << key.text();
  }

  // Overlapping pairs of keys in a circle, each in both directions: the classic shape of a
  // deadlock when locks are taken in the order given.
  testing::delete_all_rows(connection_);
  RaceResult circle;
  race(
      8, 10,
      [&](int t) {
        const std::size_t first = static_cast<std::size_t>(t) % 4;
        std::vector<ThrottleKey> mine{keys[first], keys[(first + 1) % 4]};
        if (t >= 4) {
          std::swap(mine[0], mine[1]);
        }
        return mine;
      },
      circle);
  EXPECT_TRUE(circle.errors.empty()) << circle.errors.front();
  EXPECT_LE(circle.busy.load(), 3);
  EXPECT_GT(circle.admitted.load(), 0);
  for (const ThrottleKey& key : keys) {
    EXPECT_LE(rows_of(connection_, key), kLimit) << key.text();
  }
}

TEST_F(MysqlLoginThrottleStoreTest, PruningAlongsideFailingAttemptsNeitherFailsNorLosesThem) {
  // Every login prunes now and then while others' passwords are checked. The newest attempt in
  // flight holds the row a pruning range scan stops at: neither may fail the other, and no
  // failure may be lost (it would be a free try).
  constexpr int kAttempts = 300;
  constexpr int kExpired = 200;
  for (int n = 0; n < kExpired; ++n) {
    fail({account_key("old" + std::to_string(n) + "@example.com")}, "old" + std::to_string(n),
         kNow - 200, kNow - 100);
  }
  std::atomic<std::size_t> pruned{0};
  std::atomic<bool> failing_done{false};
  std::atomic<int> prunes{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  const auto record_error = [&](const std::exception& error) {
    const std::scoped_lock lock(errors_mutex);
    errors.emplace_back(error.what());
  };
  std::thread failing([&] {
    try {
      MysqlConnection connection(testing::test_database_config());
      MysqlLoginThrottleStore store(connection);
      for (int n = 0; n < kAttempts; ++n) {
        const std::vector<ThrottleKey> keys{
            pair_key("u" + std::to_string(n) + "@example.com", "192.0.2.1"),
            account_key("u" + std::to_string(n) + "@example.com")};
        const std::string attempt = "a" + std::to_string(n);
        ASSERT_EQ(store.admit(keys, attempt, kNow, kLease,
                              [](std::span<const KeyHistory>) {
                                return marks_for(all_of(2), kNow + kPairWindow);
                              }),
                  AdmitOutcome::Decided);
        store.record_failure(attempt, kNow,
                             std::vector<FailureExpiry>{{keys[0], kNow + kPairWindow},
                                                        {keys[1], kNow + kPairWindow}});
      }
    } catch (const std::exception& error) {
      record_error(error);
    }
    failing_done = true;
  });
  std::thread pruning([&] {
    try {
      MysqlConnection connection(testing::test_database_config());
      MysqlLoginThrottleStore store(connection);
      while (!failing_done && prunes < 100'000) {
        pruned += store.prune(kNow, 10);
        ++prunes;
      }
    } catch (const std::exception& error) {
      record_error(error);
    }
  });
  failing.join();
  pruning.join();

  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << errors.front();
  EXPECT_GT(prunes.load(), 0);
  pruned += store_.prune(kNow, 1000);
  EXPECT_EQ(pruned.load(), static_cast<std::size_t>(kExpired)) << "only the expired rows";
  EXPECT_EQ(failure_rows(connection_), 2 * kAttempts);
  EXPECT_EQ(query_int(connection_, "SELECT COUNT(*) FROM login_failures WHERE pending = 0"),
            2 * kAttempts);
}

TEST_F(MysqlLoginThrottleStoreTest, AKeyLockedElsewhereAnswersBusyAfterTheLockWait) {
  const ThrottleKey account = account_key("alice@example.com");
  const ThrottleKey other = account_key("bob@example.com");
  (void)read({account}, kNow);  // its lock row exists now

  MysqlConnection holder_connection(testing::test_database_config());
  std::optional<MysqlConnection::Transaction> holder(std::in_place, holder_connection);
  holder_connection.with_statement(
      "SELECT used_at FROM login_throttle_locks WHERE key_hash = UNHEX(SHA2(?, 256)) FOR UPDATE",
      [&](sql::PreparedStatement& statement) {
        statement.setString(1, account.text());
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        ASSERT_TRUE(rows->next());
      });

  bool decided = false;
  const auto start = std::chrono::steady_clock::now();
  const AdmitOutcome outcome = store_.admit(std::vector<ThrottleKey>{other, account}, "blocked",
                                            kNow, kLease, [&](std::span<const KeyHistory>) {
                                              decided = true;
                                              return marks_for({0, 1}, kNow + 600);
                                            });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(outcome, AdmitOutcome::Busy);
  EXPECT_FALSE(decided);
  EXPECT_GE(waited, std::chrono::milliseconds(2500));
  EXPECT_LT(waited, std::chrono::seconds(10));

  // Keys nobody holds are not held up meanwhile, and nothing of the refused admission stays.
  EXPECT_EQ(read_one(other, kNow).failures, 0);
  EXPECT_EQ(failure_rows(connection_), 0);

  holder.reset();  // rolls back: the key is free again, on the same connection as before
  fail({other, account}, "after", kNow, kNow + 600);
  EXPECT_EQ(read_one(account, kNow).failures, 1);
}

// ---------------------------------------------------------------------------------------------
// The bound: a spray of random emails from many addresses, through the login throttle

// Attempt ids from a counter: unique, as random ones would be, cheap and thread-safe.
class CountingRandomSource final : public domain::RandomSource {
 public:
  void fill(std::span<unsigned char> out) const override {
    std::uint64_t value = next_.fetch_add(1);
    for (unsigned char& byte : out) {
      byte = static_cast<unsigned char>(value & 0xFFU);
      value >>= 8U;
    }
  }

 private:
  mutable std::atomic<std::uint64_t> next_{1};
};

TEST_F(MysqlLoginThrottleStoreTest, ASprayOfRandomEmailsLeavesABoundedTableThatPrunesToEmpty) {
  const int attempts = on_galera() ? 5'000 : 100'000;
  const int addresses = attempts / 100;
  // Workers in parallel, as on a real host: their commits share the log flushes, which a
  // single thread would wait for one by one (about 150 s instead of 60 s here).
  constexpr int kThreads = 8;
  const domain::ThrottleSettings settings;  // the defaults: 100 failures per address a day
  testing::FakeClock clock(kNow);
  const CountingRandomSource random_source;

  // Each thread a worker: its own connection, store and throttle; addresses drawn at random,
  // so some get more attempts than their limit and some fewer.
  std::vector<std::map<std::string, int>> admitted_by_address(static_cast<std::size_t>(kThreads));
  std::atomic<int> refused{0};
  std::atomic<int> done{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      try {
        MysqlConnection connection(testing::test_database_config());
        MysqlLoginThrottleStore store(connection);
        domain::LoginThrottle throttle(store, random_source, clock, settings);
        std::mt19937_64 random(static_cast<std::uint64_t>(t) + 1);
        std::uniform_int_distribution<int> pick_address(0, addresses - 1);
        for (int n = t; n < attempts; n += kThreads) {
          const int address_number = pick_address(random);
          const domain::AttemptSource source{
              .email = "u" + std::to_string(random()) + "@example.com",
              .address = "10." + std::to_string(address_number / 256 % 256) + "." +
                         std::to_string(address_number % 256) + ".1",
              .device = std::nullopt};
          throttle.prune_now_and_then();  // as every login does
          domain::Admission admission = throttle.admit(source);
          if (admission.attempt) {
            admission.attempt->failed();
            ++admitted_by_address[static_cast<std::size_t>(t)][source.address];
          } else {
            ++refused;
          }
          // Simulated time passes: about 17 minutes for the whole spray, well inside every
          // window.
          if (done.fetch_add(1) % 100 == 99) {
            clock.advance(1);
          }
        }
      } catch (const std::exception& error) {
        const std::scoped_lock lock(errors_mutex);
        errors.emplace_back(error.what());
      }
    });
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ spray    ] " << attempts << " attempts from " << addresses << " addresses in "
            << seconds << " s (" << kThreads << " threads, " << clock.pauses()
            << " waits for attempts in flight)\n";
  ASSERT_TRUE(errors.empty()) << errors.size() << " workers failed, first: " << errors.front();

  std::map<std::string, int> admitted;
  for (const auto& partial : admitted_by_address) {
    for (const auto& [address, count] : partial) {
      admitted[address] += count;
    }
  }
  std::int64_t failures = 0;
  for (const auto& [address, count] : admitted) {
    EXPECT_LE(count, settings.stuffing.max_failures) << address;
    failures += count;
  }
  EXPECT_EQ(failures + refused.load(), attempts);
  EXPECT_GT(refused.load(), 0) << "some address got more attempts than its limit";

  // While they count: one pair row and one account row per failure, and at most the stuffing
  // limit of address rows per address; a refused attempt adds nothing.
  const std::int64_t rows = failure_rows(connection_);
  EXPECT_EQ(rows, 3 * failures);
  EXPECT_LE(rows, 2 * failures + settings.stuffing.max_failures * addresses);
  EXPECT_LE(query_int(connection_,
                      "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM login_failures "
                      "WHERE scope = 'address' GROUP BY key_hash) AS per_address"),
            settings.stuffing.max_failures);
  EXPECT_EQ(query_int(connection_, "SELECT COUNT(*) FROM login_failures WHERE pending = 1"), 0);

  // Past the longest window: the next login's prune deletes a bounded share (it never waits for
  // the whole backlog; 10 batches of 1,000, login_throttle.cpp), and one full prune the rest.
  clock.advance(settings.stuffing.window_seconds + 1);
  domain::LoginThrottle throttle(store_, random_source, clock, settings);
  const std::int64_t before = rows + lock_rows(connection_);
  throttle.prune_now_and_then();
  const std::int64_t by_login = before - failure_rows(connection_) - lock_rows(connection_);
  EXPECT_GT(by_login, 0);
  EXPECT_LE(by_login, 10'000);
  const auto prune_start = std::chrono::steady_clock::now();
  EXPECT_EQ(static_cast<std::int64_t>(throttle.prune()), before - by_login);
  std::cout << "[ spray    ] " << before << " rows, pruned in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - prune_start).count()
            << " s\n";
  EXPECT_EQ(failure_rows(connection_), 0);
  EXPECT_EQ(lock_rows(connection_), 0);
}

}  // namespace
}  // namespace authfcgi::storage
