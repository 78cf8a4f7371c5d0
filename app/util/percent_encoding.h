#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace authfcgi::util {

enum class PlusAsSpace { No, Yes };

// Strict decoding: nullopt on a '%' not followed by two hex digits, or on a decoded NUL.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text,
                                                        PlusAsSpace plus = PlusAsSpace::No);
// Encodes everything but unreserved characters (RFC 3986): for query values like next=.
[[nodiscard]] std::string percent_encode(std::string_view text);

}  // namespace authfcgi::util
