#include "domain/next_url.h"

#include <algorithm>
#include <optional>
#include <string>

#include "util/percent_encoding.h"

namespace authfcgi::domain {
namespace {

// Printable ASCII other than space and backslash.
bool is_plain_path_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte < 0x7F && c != '\\';
}

bool has_safe_shape(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return false;
  }
  if (path.size() > 1 && (path[1] == '/' || path[1] == '\\')) {
    return false;
  }
  return std::all_of(path.begin(), path.end(), is_plain_path_char);
}

}  // namespace

bool is_safe_next(std::string_view next) {
  if (next.size() > 2048 || !has_safe_shape(next)) {
    return false;
  }
  // A browser or a proxy may decode %2F, %5C or %09 once more; what it would see must be
  // safe too. A value that does not decode cleanly is refused rather than guessed at.
  const std::optional<std::string> decoded = util::percent_decode(next);
  return decoded.has_value() && has_safe_shape(*decoded);
}

}  // namespace authfcgi::domain
