#include "util/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace authfcgi::util {
namespace {

class ValidUtf8 : public ::testing::TestWithParam<std::string> {};
class InvalidUtf8 : public ::testing::TestWithParam<std::string> {};

TEST_P(ValidUtf8, IsAccepted) { EXPECT_TRUE(is_valid_utf8(GetParam())); }
TEST_P(InvalidUtf8, IsRejected) { EXPECT_FALSE(is_valid_utf8(GetParam())); }

INSTANTIATE_TEST_SUITE_P(WellFormed, ValidUtf8,
                         ::testing::Values("", "ascii", std::string("a\0b", 3),
                                           "\xC2\x80",          // U+0080
                                           "caf\xC3\xA9",       // é
                                           "\xDF\xBF",          // U+07FF
                                           "\xE0\xA0\x80",      // U+0800
                                           "\xED\x9F\xBF",      // U+D7FF, just below surrogates
                                           "\xEE\x80\x80",      // U+E000, just above
                                           "\xEF\xBF\xBF",      // U+FFFF
                                           "\xF0\x90\x80\x80",  // U+10000
                                           "\xF0\x9F\x98\x80",  // emoji
                                           "\xF4\x8F\xBF\xBF"   // U+10FFFF
                                           ));

INSTANTIATE_TEST_SUITE_P(Malformed, InvalidUtf8,
                         ::testing::Values("\x80",                // lone continuation
                                           "\xBF",                // lone continuation
                                           "\xC0\xAF",            // overlong '/'
                                           "\xC1\xBF",            // overlong
                                           "\xE0\x80\xAF",        // overlong 3-byte '/'
                                           "\xE0\x9F\xBF",        // overlong 3-byte
                                           "\xF0\x80\x80\xAF",    // overlong 4-byte
                                           "\xF0\x8F\xBF\xBF",    // overlong 4-byte
                                           "\xED\xA0\x80",        // U+D800 surrogate
                                           "\xED\xBF\xBF",        // U+DFFF surrogate
                                           "\xF4\x90\x80\x80",    // U+110000
                                           "\xF5\x80\x80\x80",    // beyond any plane
                                           "\xFE", "\xFF",        // never in UTF-8
                                           "\xC3",                // truncated 2-byte
                                           "caf\xC3",             // truncated at the end
                                           "\xE2\x82",            // truncated 3-byte
                                           "\xF0\x9F\x98",        // truncated 4-byte
                                           "\xC3\x28",            // bad continuation
                                           "\xE2\x28\xA1",        // bad continuation
                                           "\xF0\x9F\x98\x28"));  // bad last continuation

}  // namespace
}  // namespace authfcgi::util

namespace authfcgi::util {
namespace {

TEST(HtmlAsAscii, WritesEveryNonAsciiCharacterAsAReference) {
  EXPECT_EQ(html_as_ascii("<p>Hello, \xd1\x98ohn \xe2\x80\x94 \xf0\x9f\x94\x91!</p>"),
            "<p>Hello, &#1112;ohn &#8212; &#128273;!</p>");
  EXPECT_EQ(html_as_ascii("plain <b>ascii</b>"), "plain <b>ascii</b>");
  // Bytes that are no UTF-8: one replacement character each, the rest kept.
  EXPECT_EQ(html_as_ascii("a\xff"
                          "b\xe2\x80"),
            "a&#65533;b&#65533;&#65533;");
}

}  // namespace
}  // namespace authfcgi::util
