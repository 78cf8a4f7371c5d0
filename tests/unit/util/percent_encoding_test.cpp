#include "util/percent_encoding.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace authfcgi::util {
namespace {

struct DecodeCase {
  std::string input;
  PlusAsSpace plus;
  std::optional<std::string> expected;
};

void PrintTo(const DecodeCase& c, std::ostream* out) { *out << ::testing::PrintToString(c.input); }

class PercentDecode : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(PercentDecode, DecodesStrictly) {
  const auto& c = GetParam();
  EXPECT_EQ(percent_decode(c.input, c.plus), c.expected) << c.input;
}

INSTANTIATE_TEST_SUITE_P(Table, PercentDecode,
                         ::testing::Values(DecodeCase{"", PlusAsSpace::No, ""},
                                           DecodeCase{"plain", PlusAsSpace::No, "plain"},
                                           DecodeCase{"%2Fsecret", PlusAsSpace::No, "/secret"},
                                           DecodeCase{"%2fsecret", PlusAsSpace::No, "/secret"},
                                           DecodeCase{"caf%C3%A9", PlusAsSpace::No, "caf\xC3\xA9"},
                                           DecodeCase{"a+b", PlusAsSpace::No, "a+b"},
                                           DecodeCase{"a+b", PlusAsSpace::Yes, "a b"},
                                           DecodeCase{"a%2Bb", PlusAsSpace::Yes, "a+b"},
                                           DecodeCase{"%25", PlusAsSpace::No, "%"},
                                           DecodeCase{"%", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"abc%", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"%4", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"x%4", PlusAsSpace::Yes, std::nullopt},
                                           DecodeCase{"%zz", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"%4g", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"%g4", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"% 41", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"%00", PlusAsSpace::No, std::nullopt},
                                           DecodeCase{"a%00b", PlusAsSpace::Yes, std::nullopt},
                                           DecodeCase{std::string("a\0b", 3), PlusAsSpace::No,
                                                      std::nullopt},
                                           DecodeCase{"%FF", PlusAsSpace::No, "\xFF"}));

TEST(PercentEncode, EncodesAllButUnreserved) {
  EXPECT_EQ(percent_encode("/secret?x=1&y=a b"), "%2Fsecret%3Fx%3D1%26y%3Da%20b");
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("\xC3\xA9+"), "%C3%A9%2B");
}

TEST(PercentEncode, RoundTripsEveryByteButNul) {
  std::string all;
  for (int byte = 1; byte < 256; ++byte) {
    all += static_cast<char>(byte);
  }
  EXPECT_EQ(percent_decode(percent_encode(all)), all);
}

}  // namespace
}  // namespace authfcgi::util
