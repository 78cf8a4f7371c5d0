#include "web/session_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "crypto/key_ring.h"
#include "fakes/fake_clock.h"

namespace authfcgi::web {
namespace {

constexpr std::string_view kSecret = "test-secret-test-secret-test-secret-0001";
constexpr std::string_view kOldSecret = "older-secret-older-secret-older-secret-01";
constexpr std::int64_t kMaxAge = 86400;

domain::SessionState sample_state(std::int64_t issued_at) {
  domain::SessionState state;
  state.sid = "c2lkLXNpZC1zaWQtc2lkLXNpZC1zaWQtc2lkLXNpZC0";
  state.user_id = 7;
  state.issued_at = issued_at;
  state.csrf_secret = "Y3NyZi1jc3JmLWNzcmYtY3NyZi1jc3JmLWNzcmYtY3M";
  state.flashes = {"You have been logged out.", "Please log in to access this page."};
  return state;
}

class SessionCodecTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  crypto::KeyRing keys_{kSecret, {}};
  SessionCodec codec_{keys_, kMaxAge};
};

TEST_F(SessionCodecTest, RoundTripsLoggedInState) {
  const auto state = sample_state(clock_.now());
  const std::string cookie = codec_.encode(state);
  EXPECT_TRUE(cookie.starts_with("v1."));
  EXPECT_EQ(codec_.decode(cookie, clock_.now()), state);
}

TEST_F(SessionCodecTest, RoundTripsAnonymousAndEmptyState) {
  domain::SessionState anonymous = sample_state(clock_.now());
  anonymous.user_id.reset();
  anonymous.flashes.clear();
  EXPECT_EQ(codec_.decode(codec_.encode(anonymous), clock_.now()), anonymous);
  domain::SessionState empty;
  empty.issued_at = clock_.now();
  EXPECT_EQ(codec_.decode(codec_.encode(empty), clock_.now()), empty);
}

TEST_F(SessionCodecTest, FlashesRoundTripAnyBytes) {
  auto state = sample_state(clock_.now());
  std::string every_byte;
  for (int byte = 0; byte < 256; ++byte) {
    every_byte += static_cast<char>(byte);
  }
  state.flashes = {"", every_byte, "a.b|c;d=e\"f", std::string(3, '\0'), ""};
  state.user_id = -1;  // any id survives, even ones we never hand out
  EXPECT_EQ(codec_.decode(codec_.encode(state), clock_.now()), state);
}

TEST_F(SessionCodecTest, CookieIsCookieSafe) {
  auto state = sample_state(clock_.now());
  state.flashes = {"caf\xC3\xA9; \"quoted\", \\ \n"};
  for (const char c : codec_.encode(state)) {
    const bool url_safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    EXPECT_TRUE(url_safe) << static_cast<int>(c);
  }
}

TEST_F(SessionCodecTest, EveryChangedByteIsRejected) {
  const std::string cookie = codec_.encode(sample_state(clock_.now()));
  for (std::size_t i = 0; i < cookie.size(); ++i) {
    for (const char replacement : {'A', 'z', '-', '.', '%'}) {
      if (cookie[i] == replacement) {
        continue;
      }
      std::string tampered = cookie;
      tampered[i] = replacement;
      EXPECT_EQ(codec_.decode(tampered, clock_.now()), std::nullopt)
          << "position " << i << " -> " << replacement;
    }
  }
}

TEST_F(SessionCodecTest, TruncatedOrExtendedIsRejected) {
  const std::string cookie = codec_.encode(sample_state(clock_.now()));
  for (std::size_t length = 0; length < cookie.size(); ++length) {
    EXPECT_EQ(codec_.decode(cookie.substr(0, length), clock_.now()), std::nullopt) << length;
  }
  EXPECT_EQ(codec_.decode(cookie + "A", clock_.now()), std::nullopt);
  EXPECT_EQ(codec_.decode(cookie + ".", clock_.now()), std::nullopt);
  EXPECT_EQ(codec_.decode(" " + cookie, clock_.now()), std::nullopt);
}

TEST_F(SessionCodecTest, GarbageIsNoSession) {
  for (const std::string& garbage :
       {std::string(), std::string("v1"), std::string("v1."), std::string("v1.."),
        std::string("v2.AAAA.BBBB"), std::string("v1.AAAA.BBBB"), std::string("7"),
        std::string("user_id=7"), std::string(5000, '.'), std::string("v1.\0\0.\0", 7)}) {
    EXPECT_EQ(codec_.decode(garbage, clock_.now()), std::nullopt) << garbage;
  }
}

TEST_F(SessionCodecTest, WrongKeyIsRejected) {
  const crypto::KeyRing other_keys(kOldSecret, {});
  const SessionCodec other(other_keys, kMaxAge);
  EXPECT_EQ(codec_.decode(other.encode(sample_state(clock_.now())), clock_.now()), std::nullopt);
}

TEST_F(SessionCodecTest, PreviousKeyIsAcceptedForVerification) {
  const crypto::KeyRing old_keys(kOldSecret, {});
  const SessionCodec old_codec(old_keys, kMaxAge);
  const crypto::KeyRing rotated_keys(kSecret, {kOldSecret});
  const SessionCodec rotated(rotated_keys, kMaxAge);
  const auto state = sample_state(clock_.now());
  EXPECT_EQ(rotated.decode(old_codec.encode(state), clock_.now()), state);
  // New cookies are signed with the current key only.
  EXPECT_EQ(old_codec.decode(rotated.encode(state), clock_.now()), std::nullopt);
  EXPECT_EQ(codec_.decode(rotated.encode(state), clock_.now()), state);
}

TEST_F(SessionCodecTest, ExpiresAfterMaxAge) {
  const std::string cookie = codec_.encode(sample_state(clock_.now()));
  clock_.advance(kMaxAge);
  EXPECT_TRUE(codec_.decode(cookie, clock_.now()).has_value());
  clock_.advance(1);
  EXPECT_EQ(codec_.decode(cookie, clock_.now()), std::nullopt);
}

TEST_F(SessionCodecTest, FutureIssueTimeIsRejectedBeyondSkew) {
  const std::int64_t now = clock_.now();
  EXPECT_TRUE(codec_.decode(codec_.encode(sample_state(now + 60)), now).has_value());
  EXPECT_EQ(codec_.decode(codec_.encode(sample_state(now + 61)), now), std::nullopt);
}

TEST_F(SessionCodecTest, ExtremeIssueTimesDoNotOverflow) {
  const std::int64_t now = clock_.now();
  EXPECT_EQ(
      codec_.decode(codec_.encode(sample_state(std::numeric_limits<std::int64_t>::max())), now),
      std::nullopt);
  EXPECT_EQ(
      codec_.decode(codec_.encode(sample_state(std::numeric_limits<std::int64_t>::min())), now),
      std::nullopt);
}

}  // namespace
}  // namespace authfcgi::web
