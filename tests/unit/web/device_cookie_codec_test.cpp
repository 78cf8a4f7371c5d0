#include "web/device_cookie_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace authfcgi::web {
namespace {

constexpr std::string_view kSecret = "test-secret-of-at-least-32-bytes-0123456789";

const std::vector<domain::DeviceMarker> kTwo{
    {"tagAAAAAAAAAAAAAAAAAAA", "idAAAAAAAAAAAAAAAAAAAA", 1'700'000'000},
    {"tagBBBBBBBBBBBBBBBBBBB", "idBBBBBBBBBBBBBBBBBBBB", 1'690'000'000},
};

class DeviceCookieCodecTest : public ::testing::Test {
 protected:
  crypto::KeyRing keys_{kSecret, {}};
  DeviceCookieCodec codec_{keys_};
};

TEST_F(DeviceCookieCodecTest, RoundTripsItsMarkers) {
  EXPECT_EQ(codec_.decode(codec_.encode(kTwo)), kTwo);
}

TEST_F(DeviceCookieCodecTest, AChangedByteMakesAnUntrustedBrowser) {
  const std::string cookie = codec_.encode(kTwo);
  for (std::size_t i = 0; i < cookie.size(); ++i) {
    std::string changed = cookie;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(codec_.decode(changed).empty()) << "byte " << i;
  }
}

TEST_F(DeviceCookieCodecTest, AnotherSecretsCookieIsNotTrusted) {
  const crypto::KeyRing other{"another-secret-of-at-least-32-bytes-012345", {}};
  EXPECT_TRUE(codec_.decode(DeviceCookieCodec(other).encode(kTwo)).empty());
}

TEST_F(DeviceCookieCodecTest, MarkersSurviveASecretRotation) {
  const crypto::KeyRing rotated{"a-brand-new-secret-of-at-least-32-bytes!!", {kSecret}};
  EXPECT_EQ(DeviceCookieCodec(rotated).decode(codec_.encode(kTwo)), kTwo);
}

TEST_F(DeviceCookieCodecTest, ASessionCookieMacIsNoDeviceCookieMac) {
  // The device key is derived for its own purpose: a value signed with another key (the
  // session's) does not verify, whatever it says.
  std::string cookie = codec_.encode(kTwo);
  const std::string session_signed =
      cookie.substr(0, cookie.rfind('.') + 1) +
      std::string(43, 'A');  // a MAC of the right length that is not the device key's
  EXPECT_TRUE(codec_.decode(session_signed).empty());
}

TEST_F(DeviceCookieCodecTest, MoreThanFiveMarkersAreRefusedEvenWhenSigned) {
  std::vector<domain::DeviceMarker> six(6, kTwo[0]);
  EXPECT_TRUE(codec_.decode(codec_.encode(six)).empty());
  std::vector<domain::DeviceMarker> five(5, kTwo[0]);
  EXPECT_EQ(codec_.decode(codec_.encode(five)).size(), 5U);
}

TEST_F(DeviceCookieCodecTest, GarbageIsNoMarkersNeverAnError) {
  for (const std::string& garbage :
       {std::string(), std::string("d1."), std::string("d1.."), std::string("v1.abc.def"),
        std::string("d1.a:b:c.") + std::string(43, 'A'), std::string(5000, '.'),
        std::string("d1.\x00\xff", 5)}) {
    EXPECT_TRUE(codec_.decode(garbage).empty());
  }
}

TEST_F(DeviceCookieCodecTest, TheValueIsCookieSafe) {
  for (const char c : codec_.encode(kTwo)) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                c == ':')
        << c;
  }
}

}  // namespace
}  // namespace authfcgi::web
