#include "crypto/sodium_random_source.h"

#include <gtest/gtest.h>

#include <array>
#include <ctime>

#include "crypto/sodium_init.h"
#include "crypto/system_clock.h"

namespace authfcgi::crypto {
namespace {

TEST(SodiumRandomSource, FillsEveryCallWithNewBytes) {
  sodium_init_or_throw();
  const SodiumRandomSource random;
  std::array<unsigned char, 32> a{};
  std::array<unsigned char, 32> b{};
  random.fill(a);
  random.fill(b);
  EXPECT_NE(a, b);
  EXPECT_NE(a, (std::array<unsigned char, 32>{}));
}

TEST(SystemClock, ReportsUnixSeconds) {
  const SystemClock clock;
  const auto before = static_cast<std::int64_t>(std::time(nullptr));
  const std::int64_t now = clock.now();
  const auto after = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_GE(now, before);
  // time() may read the kernel's coarse clock, up to a tick behind: at a second's turn it can
  // still report the second before.
  EXPECT_LE(now, after + 1);
}

TEST(SodiumInit, CanBeCalledAgain) {
  EXPECT_NO_THROW(sodium_init_or_throw());
  EXPECT_NO_THROW(sodium_init_or_throw());
}

}  // namespace
}  // namespace authfcgi::crypto
