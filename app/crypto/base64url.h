#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace authfcgi::crypto {

// URL-safe base64 without padding (cookie- and form-safe).
[[nodiscard]] std::string base64url_encode(std::span<const unsigned char> data);
[[nodiscard]] std::string base64url_encode(std::string_view data);
// nullopt on any character outside the alphabet, padding, or a bad length.
[[nodiscard]] std::optional<std::vector<unsigned char>> base64url_decode(std::string_view text);

}  // namespace authfcgi::crypto
