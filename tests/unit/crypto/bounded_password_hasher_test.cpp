#include "crypto/bounded_password_hasher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "mocks/mocks.h"

namespace authfcgi::crypto {
namespace {

using ::testing::Return;
using ::testing::StrictMock;

// A slow hasher that records how many calls ran at the same time.
class CountingHasher final : public domain::PasswordHasher {
 public:
  std::string hash(std::string_view password) const override {
    enter();
    if (password == "throw") {
      leave();
      throw std::runtime_error("out of memory");
    }
    leave();
    return "hash";
  }
  bool verify(std::string_view, std::string_view) const override {
    enter();
    leave();
    return true;
  }
  bool needs_rehash(std::string_view) const override { return false; }

  int max_seen() const { return max_seen_.load(); }
  int total() const { return total_.load(); }

 private:
  void enter() const {
    const int now = ++active_;
    ++total_;
    int seen = max_seen_.load();
    while (now > seen && !max_seen_.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void leave() const { --active_; }

  mutable std::atomic<int> active_{0};
  mutable std::atomic<int> max_seen_{0};
  mutable std::atomic<int> total_{0};
};

void hammer(const domain::PasswordHasher& hasher, int threads, int calls_each) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&hasher, calls_each, t] {
      for (int i = 0; i < calls_each; ++i) {
        if ((i + t) % 2 == 0) {
          (void)hasher.hash("pw");
        } else {
          (void)hasher.verify("hash", "pw");
        }
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
}

TEST(BoundedPasswordHasher, NeverExceedsItsBound) {
  for (const unsigned bound : {1U, 2U, 3U}) {
    CountingHasher inner;
    const BoundedPasswordHasher bounded(inner, bound);
    hammer(bounded, 8, 6);
    EXPECT_EQ(inner.total(), 48);
    EXPECT_LE(inner.max_seen(), static_cast<int>(bound));
  }
}

TEST(BoundedPasswordHasher, UnboundedInnerDoesExceedTheBound) {
  // Guards the test above: without the decorator, the same load overlaps.
  CountingHasher inner;
  hammer(inner, 8, 6);
  EXPECT_GT(inner.max_seen(), 1);
}

TEST(BoundedPasswordHasher, ZeroMeansOnePerCoreAndAtLeastOne) {
  CountingHasher inner;
  const BoundedPasswordHasher bounded(inner, 0);
  EXPECT_EQ(bounded.bound(),
            static_cast<std::ptrdiff_t>(std::max(1U, std::thread::hardware_concurrency())));
}

TEST(BoundedPasswordHasher, ASlotIsReleasedWhenTheInnerHasherThrows) {
  CountingHasher inner;
  const BoundedPasswordHasher bounded(inner, 1);
  EXPECT_THROW((void)bounded.hash("throw"), std::runtime_error);
  EXPECT_EQ(bounded.hash("pw"), "hash");  // would block forever if the slot leaked
}

TEST(BoundedPasswordHasher, ForwardsArgumentsAndResults) {
  StrictMock<testing::MockPasswordHasher> inner;
  const BoundedPasswordHasher bounded(inner, 2);
  EXPECT_CALL(inner, hash(std::string_view("pw"))).WillOnce(Return("h1"));
  EXPECT_CALL(inner, verify(std::string_view("h1"), std::string_view("pw"))).WillOnce(Return(true));
  EXPECT_CALL(inner, verify(std::string_view("h1"), std::string_view("no")))
      .WillOnce(Return(false));
  EXPECT_CALL(inner, needs_rehash(std::string_view("h1"))).WillOnce(Return(true));
  EXPECT_EQ(bounded.hash("pw"), "h1");
  EXPECT_TRUE(bounded.verify("h1", "pw"));
  EXPECT_FALSE(bounded.verify("h1", "no"));
  EXPECT_TRUE(bounded.needs_rehash("h1"));
}

}  // namespace
}  // namespace authfcgi::crypto
