#include "util/utf8.h"

#include <cstdint>

namespace authfcgi::util {

bool is_valid_utf8(std::string_view text) {
  // The table of well-formed byte sequences from Unicode 15, section 3.9 (Table 3-7): the
  // narrowed second-byte ranges exclude overlongs, surrogates and code points above U+10FFFF.
  std::size_t i = 0;
  const std::size_t size = text.size();
  auto byte_at = [&text](std::size_t index) { return static_cast<unsigned char>(text[index]); };
  while (i < size) {
    const unsigned char lead = byte_at(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead == 0xE0) {
      length = 3;
      second_min = 0xA0;
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
      length = 3;
    } else if (lead == 0xED) {
      length = 3;
      second_max = 0x9F;
    } else if (lead == 0xF0) {
      length = 4;
      second_min = 0x90;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      length = 4;
    } else if (lead == 0xF4) {
      length = 4;
      second_max = 0x8F;
    } else {
      return false;
    }
    if (size - i < length) {
      return false;
    }
    const unsigned char second = byte_at(i + 1);
    if (second < second_min || second > second_max) {
      return false;
    }
    for (std::size_t k = 2; k < length; ++k) {
      const unsigned char next = byte_at(i + k);
      if (next < 0x80 || next > 0xBF) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

std::size_t count_code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) {
    count += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
  }
  return count;
}

std::string html_as_ascii(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  std::size_t i = 0;
  while (i < html.size()) {
    const auto lead = static_cast<unsigned char>(html[i]);
    if (lead < 0x80) {
      out += static_cast<char>(lead);
      ++i;
      continue;
    }
    // The length the lead byte announces; the sequence is taken only when it is well formed.
    const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    std::uint32_t code_point = 0xFFFD;
    std::size_t used = 1;
    if (i + length <= html.size() && is_valid_utf8(html.substr(i, length))) {
      code_point = length == 2 ? lead & 0x1FU : length == 3 ? lead & 0x0FU : lead & 0x07U;
      for (std::size_t k = 1; k < length; ++k) {
        code_point = (code_point << 6U) | (static_cast<unsigned char>(html[i + k]) & 0x3FU);
      }
      used = length;
    }
    out += "&#";
    out += std::to_string(code_point);
    out += ';';
    i += used;
  }
  return out;
}

}  // namespace authfcgi::util
