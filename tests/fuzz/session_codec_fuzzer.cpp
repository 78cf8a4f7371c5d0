// web::SessionCodec::decode with a fixed test KeyRing. The first byte picks the mode:
//  - even: the rest is the cookie value as a browser would send it (a forgery);
//  - odd:  the rest is a payload, signed here with the real session key, so the payload parser
//          behind the MAC is reached too.
// Never crashes; whatever decodes re-encodes to a cookie that decodes to the same state.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "crypto/base64url.h"
#include "crypto/hmac.h"
#include "crypto/key_ring.h"
#include "crypto/sodium_init.h"
#include "fuzz_check.h"
#include "web/session_codec.h"

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kMaxAge = 86'400;

const authfcgi::crypto::KeyRing& keys() {
  static const authfcgi::crypto::KeyRing ring = [] {
    authfcgi::crypto::sodium_init_or_throw();
    return authfcgi::crypto::KeyRing("fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz",
                                     {"fuzz-previous-secret-0123456789abcdefghijklmnop"});
  }();
  return ring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const authfcgi::web::SessionCodec codec(keys(), kMaxAge);
  const std::span<const unsigned char> rest(data + 1, size - 1);
  std::string cookie;
  if (data[0] % 2 == 0) {
    cookie.assign(rest.begin(), rest.end());
  } else {
    const std::string signed_part = "v1." + authfcgi::crypto::base64url_encode(rest);
    const auto mac = authfcgi::crypto::hmac_sign(
        keys().signing_key(authfcgi::crypto::KeyPurpose::Session), signed_part);
    cookie = signed_part + "." + authfcgi::crypto::base64url_encode(mac);
  }
  const auto state = codec.decode(cookie, kNow);
  if (!state) {
    return 0;
  }
  FUZZ_CHECK(state->issued_at <= kNow + 60 && state->issued_at >= kNow - kMaxAge);
  const auto again = codec.decode(codec.encode(*state), kNow);
  FUZZ_CHECK(again.has_value() && *again == *state);
  return 0;
}
