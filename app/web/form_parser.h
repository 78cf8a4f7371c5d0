#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace authfcgi::web {

struct FormLimits {
  std::size_t max_fields = 64;
  std::size_t max_name_bytes = 256;
  std::size_t max_value_bytes = 65536;
};

using FormFields = std::map<std::string, std::string>;

// Parses a request body with cgicc: application/x-www-form-urlencoded or multipart/form-data
// (a missing or other Content-Type gives an empty form). nullopt when the body is malformed:
// broken percent-encoding, invalid UTF-8, a NUL byte, multipart without a boundary, or a
// limit exceeded; the caller answers 400. First of repeated names wins.
[[nodiscard]] std::optional<FormFields> parse_form_body(std::string_view content_type,
                                                        std::string_view body,
                                                        const FormLimits& limits = {});

// Parses a query string (urlencoded) with the same rules.
[[nodiscard]] std::optional<FormFields> parse_query_string(std::string_view query,
                                                           const FormLimits& limits = {});

}  // namespace authfcgi::web
