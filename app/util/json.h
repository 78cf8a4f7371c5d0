#pragma once

#include <string>
#include <string_view>

namespace authfcgi::util {

// A JSON string (quotes included) with every character outside printable ASCII, and the quote
// and backslash, escaped as \uXXXX (UTF-16 pairs beyond the BMP); malformed UTF-8 becomes
// U+FFFD, so the output is always valid JSON in plain ASCII.
[[nodiscard]] std::string json_string(std::string_view value);

}  // namespace authfcgi::util
