#include "crypto/base64url.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace authfcgi::crypto {
namespace {

std::vector<unsigned char> bytes(std::string_view text) { return {text.begin(), text.end()}; }

TEST(Base64url, EncodesUrlSafeWithoutPadding) {
  EXPECT_EQ(base64url_encode(std::string_view("")), "");
  EXPECT_EQ(base64url_encode(std::string_view("f")), "Zg");
  EXPECT_EQ(base64url_encode(std::string_view("fo")), "Zm8");
  EXPECT_EQ(base64url_encode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(base64url_encode(std::string_view("\xFB\xFF\xBF")), "-_-_");
}

TEST(Base64url, RoundTripsAllLengthsAndBytes) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    const auto decoded = base64url_decode(base64url_encode(data));
    ASSERT_TRUE(decoded.has_value()) << i;
    EXPECT_EQ(*decoded, bytes(data));
    data += static_cast<char>(i * 37 + 11);
  }
}

class Base64urlRejects : public ::testing::TestWithParam<std::string> {};

TEST_P(Base64urlRejects, BadInput) { EXPECT_EQ(base64url_decode(GetParam()), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(Table, Base64urlRejects,
                         ::testing::Values("Zg==",   // padding
                                           "Zg=",    // padding
                                           "Zm8=",   // padding
                                           "+/+/",   // standard alphabet
                                           "Zm 9v",  // space
                                           "Zm9v\n", "Zm9v.", std::string("Zm\0v", 4),
                                           "Z",      // impossible length
                                           "Zm9vY",  // impossible length
                                           "Zh",     // non-zero trailing bits
                                           "\xC3\xA9\xC3\xA9"));

TEST(Base64url, EmptyDecodesToEmpty) {
  const auto decoded = base64url_decode("");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->empty());
}

}  // namespace
}  // namespace authfcgi::crypto
