#include "crypto/zxcvbn_password_strength.h"

#include <zxcvbn.h>

namespace authfcgi::crypto {

double ZxcvbnPasswordStrength::entropy_bits(std::string_view password,
                                            const std::vector<std::string>& user_words) const {
  // zxcvbn takes C strings: a NUL inside the password would end it early, so such a password
  // (the forms never let one through) is scored by what precedes it, never above its worth.
  const std::string text(password);
  std::vector<const char*> words;
  words.reserve(user_words.size() + 1);
  for (const std::string& word : user_words) {
    words.push_back(word.c_str());
  }
  words.push_back(nullptr);
  return ZxcvbnMatch(text.c_str(), words.data(), nullptr);
}

}  // namespace authfcgi::crypto
