// domain::is_safe_next on any bytes. Whenever it says yes, the value, and the value decoded
// once more (what a browser or proxy might do), start with exactly one '/' and carry no '\',
// no control character, no white space and no non-ASCII byte.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/next_url.h"
#include "fuzz_check.h"
#include "util/percent_encoding.h"

namespace {

bool is_local_path(std::string_view path) {
  if (path.empty() || path[0] != '/' || (path.size() > 1 && path[1] == '/')) {
    return false;
  }
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F || c == '\\') {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view next(reinterpret_cast<const char*>(data), size);
  if (!authfcgi::domain::is_safe_next(next)) {
    return 0;
  }
  FUZZ_CHECK(is_local_path(next));
  const std::optional<std::string> decoded = authfcgi::util::percent_decode(next);
  FUZZ_CHECK(decoded.has_value() && is_local_path(*decoded));
  return 0;
}
