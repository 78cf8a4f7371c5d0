#include "crypto/base64url.h"

#include <sodium.h>

namespace authfcgi::crypto {

namespace {

constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

bool in_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string base64url_encode(std::span<const unsigned char> data) {
  std::string out(sodium_base64_encoded_len(data.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), kVariant);
  out.pop_back();  // the encoded length counts the terminating NUL
  return out;
}

std::string base64url_encode(std::string_view data) {
  return base64url_encode(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(data.data()), data.size()));
}

std::optional<std::vector<unsigned char>> base64url_decode(std::string_view text) {
  // sodium_base642bin would skip "ignore" characters and stop at the first invalid one; we
  // want all-or-nothing, so the alphabet is checked first and the whole input must be consumed.
  for (const char c : text) {
    if (!in_alphabet(c)) {
      return std::nullopt;
    }
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::vector<unsigned char> out(text.size() / 4 * 3 + 3);
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, &end,
                        kVariant) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

}  // namespace authfcgi::crypto
