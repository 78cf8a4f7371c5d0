#include "util/json.h"

#include <cstdint>

#include "util/utf8.h"

namespace authfcgi::util {

std::string json_string(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const auto escape_unit = [&out](std::uint32_t unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
      out += kHex[(unit >> static_cast<unsigned>(shift)) & 0x0FU];
    }
  };
  std::size_t i = 0;
  while (i < value.size()) {
    const auto lead = static_cast<unsigned char>(value[i]);
    if (lead >= 0x20 && lead < 0x7F) {
      if (lead == '"' || lead == '\\') {
        out += '\\';
      }
      out += static_cast<char>(lead);
      ++i;
      continue;
    }
    if (lead < 0x80) {
      escape_unit(lead);
      ++i;
      continue;
    }
    const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    std::uint32_t code_point = 0xFFFD;
    std::size_t used = 1;
    if (i + length <= value.size() && util::is_valid_utf8(value.substr(i, length))) {
      code_point = length == 2 ? lead & 0x1FU : length == 3 ? lead & 0x0FU : lead & 0x07U;
      for (std::size_t k = 1; k < length; ++k) {
        code_point = (code_point << 6U) | (static_cast<unsigned char>(value[i + k]) & 0x3FU);
      }
      used = length;
    }
    if (code_point > 0xFFFF) {
      code_point -= 0x10000;
      escape_unit(0xD800 + (code_point >> 10U));
      escape_unit(0xDC00 + (code_point & 0x3FFU));
    } else {
      escape_unit(code_point);
    }
    i += used;
  }
  out += '"';
  return out;
}

}  // namespace authfcgi::util
