// web::parse_form_body with the Content-Type taken from the input (its first line; the rest is
// the body), and web::parse_query_string on the whole input: never crashes, and every field it
// returns is within the limits, valid UTF-8 and free of NUL.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "util/utf8.h"
#include "web/form_parser.h"

namespace {

void check_fields(const authfcgi::web::FormFields& fields,
                  const authfcgi::web::FormLimits& limits) {
  FUZZ_CHECK(fields.size() <= limits.max_fields);
  for (const auto& [name, value] : fields) {
    FUZZ_CHECK(name.size() <= limits.max_name_bytes);
    FUZZ_CHECK(value.size() <= limits.max_value_bytes);
    FUZZ_CHECK(authfcgi::util::is_valid_utf8(name) && authfcgi::util::is_valid_utf8(value));
    FUZZ_CHECK(name.find('\0') == std::string_view::npos);
    FUZZ_CHECK(value.find('\0') == std::string_view::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view content_type =
      newline == std::string_view::npos ? input : input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  const authfcgi::web::FormLimits defaults;
  if (const auto fields = authfcgi::web::parse_form_body(content_type, body, defaults)) {
    check_fields(*fields, defaults);
  }
  const authfcgi::web::FormLimits tight{4, 16, 64};
  if (const auto fields = authfcgi::web::parse_form_body(content_type, body, tight)) {
    check_fields(*fields, tight);
  }
  if (const auto fields = authfcgi::web::parse_query_string(input, defaults)) {
    check_fields(*fields, defaults);
  }
  return 0;
}
