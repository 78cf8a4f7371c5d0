#include "util/strings.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace authfcgi::util {
namespace {

TEST(Strings, AsciiLowerLeavesNonAsciiBytesAlone) {
  EXPECT_EQ(ascii_lower("PaUl@Example.COM"), "paul@example.com");
  EXPECT_EQ(ascii_lower("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");
}

TEST(Strings, IequalsAsciiComparesCaseInsensitivelyAndByLength) {
  EXPECT_TRUE(iequals_ascii("Content-Type", "content-type"));
  EXPECT_FALSE(iequals_ascii("Content-Type", "content-typ"));
  EXPECT_FALSE(iequals_ascii("\xC3\x89", "\xC3\xA9"));
}

TEST(Strings, TrimStripsOnlySpacesAndTabs) {
  EXPECT_EQ(trim(" \t a b \t "), "a b");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim("\na\r"), "\na\r");
}

TEST(Strings, SplitKeepsEmptyPieces) {
  using Parts = std::vector<std::string_view>;
  EXPECT_EQ(split("a,b,c", ','), (Parts{"a", "b", "c"}));
  EXPECT_EQ(split("a,,b,", ','), (Parts{"a", "", "b", ""}));
  EXPECT_EQ(split("", ','), (Parts{""}));
}

}  // namespace
}  // namespace authfcgi::util
