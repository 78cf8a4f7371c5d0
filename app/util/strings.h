#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace authfcgi::util {

// ASCII-only lower-casing (bytes >= 0x80 are left alone).
[[nodiscard]] std::string ascii_lower(std::string_view text);
[[nodiscard]] bool iequals_ascii(std::string_view a, std::string_view b);
// Strips spaces and tabs (HTTP optional white space) from both ends.
[[nodiscard]] std::string_view trim(std::string_view text);
[[nodiscard]] std::vector<std::string_view> split(std::string_view text, char separator);

}  // namespace authfcgi::util
