#include "domain/next_url.h"

#include <gtest/gtest.h>

#include <string>

namespace authfcgi::domain {
namespace {

class SafeNext : public ::testing::TestWithParam<std::string> {};
class UnsafeNext : public ::testing::TestWithParam<std::string> {};

TEST_P(SafeNext, IsFollowed) { EXPECT_TRUE(is_safe_next(GetParam())) << GetParam(); }
TEST_P(UnsafeNext, IsIgnored) { EXPECT_FALSE(is_safe_next(GetParam())) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(LocalPaths, SafeNext,
                         ::testing::Values("/", "/secret", "/secret?x=1&y=2", "/a/b/c",
                                           "/search?q=a%2Bb", "/@evil.example", "/x:y",
                                           "/secret#frag"));

// Values as the query parser hands them over: percent-decoded once.
INSTANTIATE_TEST_SUITE_P(
    Attacks, UnsafeNext,
    ::testing::Values("", "secret", "//evil.example", "///evil.example", "/\\evil.example",
                      "\\\\evil.example", "/%2Fevil.example", "/%2f%2fevil.example",
                      "%2F%2Fevil.example", "/%5Cevil", "/%5cevil", "\t/evil", "/\t/evil.example",
                      "/%09/evil.example", "/\r\nLocation: https://evil.example",
                      "/%0d%0aSet-Cookie:x=1", "/\n", "/ /evil.example", "javascript:alert(1)",
                      "https://evil.example", "http:evil.example", "//evil.example@good", "/%",
                      "/%zz", "/%00", std::string("/a\0b", 4), "/\x7f", "/caf\xc3\xa9",
                      std::string(3000, '/')));

}  // namespace
}  // namespace authfcgi::domain
