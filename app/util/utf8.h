#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace authfcgi::util {

// Well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text);

// Characters (code points) of valid UTF-8: WTForms' Length and the password rules count them.
[[nodiscard]] std::size_t count_code_points(std::string_view text);

// HTML with every non-ASCII character written as a numeric character reference (&#1112;), so
// the page reads the same whatever charset a server labels it with; a byte that is not part of
// well-formed UTF-8 becomes U+FFFD.
[[nodiscard]] std::string html_as_ascii(std::string_view html);

}  // namespace authfcgi::util
