#pragma once

#include <string_view>

namespace authfcgi::util {

// Well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text);

}  // namespace authfcgi::util
