// The e2e attack suite changes each byte of a real session cookie once over HTTP; here every
// position gets every other byte value, which only a unit test can afford.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "crypto/base64url.h"
#include "crypto/key_ring.h"
#include "domain/session_state.h"
#include "fakes/fake_clock.h"
#include "web/session_codec.h"

namespace authfcgi::web {
namespace {

constexpr std::string_view kSecret = "security-test-secret-security-test-secret";
constexpr std::int64_t kMaxAge = 86400;

domain::SessionState logged_in_state(std::int64_t now) {
  domain::SessionState state;
  state.sid = "c2lkLXNpZC1zaWQtc2lkLXNpZC1zaWQtc2lkLXNpZC0";
  state.user_id = 1;
  state.issued_at = now;
  state.csrf_secret = "Y3NyZi1jc3JmLWNzcmYtY3NyZi1jc3JmLWNzcmYtY3M";
  state.flashes = {"You have been logged out."};
  return state;
}

class SessionCookieTamper : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  crypto::KeyRing keys_{kSecret, {}};
  SessionCodec codec_{keys_, kMaxAge};
};

TEST_F(SessionCookieTamper, EveryByteAtEveryPositionIsNoSession) {
  const std::string cookie = codec_.encode(logged_in_state(clock_.now()));
  ASSERT_TRUE(codec_.decode(cookie, clock_.now()).has_value());
  int accepted = 0;
  for (std::size_t position = 0; position < cookie.size(); ++position) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string changed = cookie;
      changed[position] = static_cast<char>(byte);
      if (changed == cookie) {
        continue;
      }
      if (codec_.decode(changed, clock_.now()).has_value()) {
        ++accepted;
        ADD_FAILURE() << "accepted with byte " << byte << " at position " << position;
      }
    }
  }
  EXPECT_EQ(accepted, 0);
}

TEST_F(SessionCookieTamper, TruncatedOrExtendedCookiesAreNoSession) {
  const std::string cookie = codec_.encode(logged_in_state(clock_.now()));
  for (std::size_t length = 0; length < cookie.size(); ++length) {
    EXPECT_FALSE(codec_.decode(cookie.substr(0, length), clock_.now()).has_value()) << length;
    EXPECT_FALSE(codec_.decode(cookie.substr(cookie.size() - length), clock_.now()).has_value())
        << length;
  }
  for (const std::string_view suffix : {"A", "=", ".", "==", "%00", " "}) {
    EXPECT_FALSE(codec_.decode(cookie + std::string(suffix), clock_.now()).has_value()) << suffix;
  }
}

TEST_F(SessionCookieTamper, AnotherUsersPayloadWithThisMacIsNoSession) {
  const std::string alice = codec_.encode(logged_in_state(clock_.now()));
  auto state = logged_in_state(clock_.now());
  state.user_id = 2;
  const std::string bob = codec_.encode(state);
  const std::string forged = bob.substr(0, bob.rfind('.')) + alice.substr(alice.rfind('.'));
  EXPECT_FALSE(codec_.decode(forged, clock_.now()).has_value());
}

TEST_F(SessionCookieTamper, CookieOfAnotherSecretIsNoSession) {
  const crypto::KeyRing other_keys("another-secret-another-secret-another-secret", {});
  const SessionCodec other(other_keys, kMaxAge);
  EXPECT_FALSE(codec_.decode(other.encode(logged_in_state(clock_.now())), clock_.now()));
}

// A MAC has one spelling: libsodium refuses base64 whose unused low bits are set, so no
// second cookie string carries the same MAC.
TEST(Base64urlCanonical, UnusedTrailingBitsAreRefused) {
  std::array<unsigned char, 32> mac{};
  mac.fill(0xA5);
  const std::string text = crypto::base64url_encode(mac);
  ASSERT_EQ(text.size(), 43U);  // 256 bits in 43 characters: the last one has 2 unused bits
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (const char last : kAlphabet) {
    if (last == text.back()) {
      continue;
    }
    const auto decoded = crypto::base64url_decode(text.substr(0, 42) + last);
    if (decoded) {
      EXPECT_FALSE(std::equal(decoded->begin(), decoded->end(), mac.begin(), mac.end()))
          << "another spelling of the same MAC: " << last;
    }
  }
}

}  // namespace
}  // namespace authfcgi::web
