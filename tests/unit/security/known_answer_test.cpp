// Known answers: fixed inputs give these exact bytes, computed once from the code (and checked
// against an independent BLAKE2b and HMAC-SHA-256 implementation) and written down here. Every
// other test would still pass if the key derivation, the session cookie's format or the CSRF
// token's changed, yet every cookie and token in users' browsers would stop verifying after the
// upgrade. A failure here means that: change the expected values only together with a deliberate,
// announced format change.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "crypto/sodium_random_source.h"
#include "crypto/sodium_token_crypto.h"
#include "domain/session_state.h"
#include "web/csrf.h"
#include "web/session_codec.h"

namespace authfcgi {
namespace {

constexpr std::string_view kSecret = "known-answer-secret-known-answer-secret-0001";
constexpr std::string_view kPreviousSecret = "known-answer-previous-secret-known-answer-01";
constexpr std::int64_t kIssuedAt = 1700000000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t kMaxAge = 86400;
constexpr std::int64_t kCsrfTimeLimit = 3600;

// What breaks for users when an expected value here stops matching.
std::string breaks_sessions() {
  return "A change here invalidates every existing session cookie: every user would be "
         "logged out.";
}
std::string breaks_csrf_tokens() {
  return "A change here invalidates every CSRF token of every open form: users would get "
         "\"The CSRF token is invalid.\" on their next submit.";
}
std::string breaks_remember_tokens() {
  return "A change here invalidates every existing remember token: every remembered browser "
         "would be logged out and its user would have to log in with the password again.";
}

std::string hex(const crypto::Key& key) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (const unsigned char byte : key) {
    out += kDigits[byte >> 4U];
    out += kDigits[byte & 0x0FU];
  }
  return out;
}

domain::SessionState fixed_state() {
  return {.sid = "a25vd24tYW5zd2VyLXNlc3Npb24taWQtMzItYnl0ZXM",
          .user_id = 42,
          .issued_at = kIssuedAt,
          .csrf_secret = "a25vd24tYW5zd2VyLWNzcmYtc2VjcmV0LTMyLWJ5dGU",
          .flashes = {"You have been logged out.", "Please log in to access this page."}};
}

// --- key derivation --------------------------------------------------------------------------
struct KeyVector {
  crypto::KeyPurpose purpose;
  std::string (*breaks)();    // what users lose when this key changes
  std::string_view current;   // from kSecret
  std::string_view previous;  // from kPreviousSecret
};

const KeyVector kKeys[] = {
    {crypto::KeyPurpose::Session, breaks_sessions,
     "f1d887fbbb8f0b3a8c636d31c42709cdb6a592e1c5690547f0d2e1dbdfc4293d",
     "c25df53b28e292551cdf4e6c396fd972f66783c65a7c1fb7b9d9aef06d8fb113"},
    {crypto::KeyPurpose::Csrf, breaks_csrf_tokens,
     "87cb01067a216b89b0385bc7f2e03ca2e03e464120de703099c490ed628a7717",
     "e6241fb4ba951431b082ad510468f2083a0bafa7191f78d096f6ea913c3bea81"},
    {crypto::KeyPurpose::Remember, breaks_remember_tokens,
     "e1af936930a4134d61e3c113487cd592205774468906effdef52422308b25239",
     "bcecd5fd8a5da42ca22658883b1ce069e5505789ff19560f741f6cfa62620d4d"},
};

TEST(KnownAnswer, KeysDerivedFromTheCurrentAndThePreviousSecret) {
  const crypto::KeyRing ring(kSecret, {kPreviousSecret});
  for (const KeyVector& vector : kKeys) {
    EXPECT_EQ(hex(ring.signing_key(vector.purpose)), vector.current) << vector.breaks();
    const auto verification = ring.verification_keys(vector.purpose);
    ASSERT_EQ(verification.size(), 2U) << vector.breaks();
    EXPECT_EQ(hex(*verification[0]), vector.current) << vector.breaks();
    EXPECT_EQ(hex(*verification[1]), vector.previous) << vector.breaks();
  }
}

// --- the v1 session cookie -------------------------------------------------------------------
// "v1." and the payload, the same for both secrets; the MAC after the last dot differs.
constexpr std::string_view kSignedPart =
    "v1.AAAAK2EyNXZkMjR0WVc1emQyVnlMWE5sYzNOcGIyNHRhV1F0TXpJdFlubDBaWE0BAAAAAAAAACoAAAAAZ"
    "VPxAAAAACthMjV2ZDI0dFlXNXpkMlZ5TFdOemNtWXRjMlZqY21WMExUTXlMV0o1ZEdVAAAAAgAAABlZb3Uga"
    "GF2ZSBiZWVuIGxvZ2dlZCBvdXQuAAAAIlBsZWFzZSBsb2cgaW4gdG8gYWNjZXNzIHRoaXMgcGFnZS4";
std::string cookie_of_current_secret() {
  return std::string(kSignedPart) + ".oc0JF0VmKQ2AAzolOL55LwcDjKPLc9Q7qak4o2-p7B8";
}
std::string cookie_of_previous_secret() {
  return std::string(kSignedPart) + ".7QaNKSKn3a2TZ76_n1rDRvrqUrwc7mw_KuaXWFkpkAU";
}

TEST(KnownAnswer, SessionCookieEncodesToFixedBytes) {
  const crypto::KeyRing ring(kSecret, {kPreviousSecret});
  const web::SessionCodec codec(ring, kMaxAge);
  EXPECT_EQ(codec.encode(fixed_state()), cookie_of_current_secret()) << breaks_sessions();
}

TEST(KnownAnswer, FixedSessionCookieDecodesToTheState) {
  const crypto::KeyRing ring(kSecret, {kPreviousSecret});
  const web::SessionCodec codec(ring, kMaxAge);
  const auto state = codec.decode(cookie_of_current_secret(), kIssuedAt + 60);
  ASSERT_TRUE(state.has_value()) << breaks_sessions();
  EXPECT_EQ(*state, fixed_state()) << breaks_sessions();
}

TEST(KnownAnswer, SessionCookieOfThePreviousSecretStillDecodes) {
  const crypto::KeyRing previous_only(kPreviousSecret, {});
  EXPECT_EQ(web::SessionCodec(previous_only, kMaxAge).encode(fixed_state()),
            cookie_of_previous_secret())
      << breaks_sessions();
  const crypto::KeyRing ring(kSecret, {kPreviousSecret});
  const auto state =
      web::SessionCodec(ring, kMaxAge).decode(cookie_of_previous_secret(), kIssuedAt);
  ASSERT_TRUE(state.has_value()) << breaks_sessions();
  EXPECT_EQ(*state, fixed_state()) << breaks_sessions();
}

// --- the CSRF form token ---------------------------------------------------------------------
constexpr std::string_view kCsrfToken = "1700000000.kML5tymM29Q59EYndb4k4qQF6ot29_OjHkxcsapMqyQ";

TEST(KnownAnswer, CsrfTokenIssuedAtAFixedTime) {
  const crypto::KeyRing ring(kSecret, {kPreviousSecret});
  const web::Csrf csrf(ring, kCsrfTimeLimit);
  EXPECT_EQ(csrf.issue(fixed_state().csrf_secret, kIssuedAt), kCsrfToken) << breaks_csrf_tokens();
}

TEST(KnownAnswer, FixedCsrfTokenChecksOk) {
  const crypto::KeyRing ring(kSecret, {kPreviousSecret});
  const web::Csrf csrf(ring, kCsrfTimeLimit);
  EXPECT_EQ(csrf.check(fixed_state().csrf_secret, kCsrfToken, kIssuedAt + 60), web::CsrfCheck::Ok)
      << breaks_csrf_tokens();
}

// --- the remember token and the session row's key ------------------------------------------
// What the database holds for a remember cookie (HMAC-SHA-256 with the remember key, hex) and
// for a session id (SHA-256, hex). The cookie is "<22 base64url>.<43 base64url>".
constexpr std::string_view kRememberCookie =
    "a25vd24tYW5zd2VyLXNlbA.a25vd24tYW5zd2VyLXJlbWVtYmVyLXZhbGlkYXRvciE";
constexpr std::string_view kRememberHashOfCurrentSecret =
    "6339f645ce6bb76d79a1b291a52fdb9313aa10cc6bdba03afad1c9cdbf2a2769";
constexpr std::string_view kRememberHashOfPreviousSecret =
    "dd87b432b6fe99c2ffc6d6e5f30aeab549957f029dcc1cbdbb7af9f597d4d66c";

TEST(KnownAnswer, RememberTokenIsStoredAsAFixedKeyedHash) {
  const crypto::KeyRing ring(kSecret, {kPreviousSecret});
  const crypto::SodiumRandomSource random;
  const crypto::SodiumTokenCrypto tokens(ring, random);
  EXPECT_EQ(tokens.remember_hash(kRememberCookie), kRememberHashOfCurrentSecret)
      << breaks_remember_tokens();
  EXPECT_TRUE(tokens.remember_hash_matches(kRememberCookie, kRememberHashOfCurrentSecret))
      << breaks_remember_tokens();
  EXPECT_TRUE(tokens.remember_hash_matches(kRememberCookie, kRememberHashOfPreviousSecret))
      << "a token issued before a key rotation must still log its browser in";
  EXPECT_FALSE(
      tokens.remember_hash_matches("a25vd24tYW5zd2VyLXNlbA.x", kRememberHashOfCurrentSecret));
}

TEST(KnownAnswer, SessionRowIsKeyedByTheSessionIdsSha256) {
  const crypto::KeyRing ring(kSecret, {});
  const crypto::SodiumRandomSource random;
  const crypto::SodiumTokenCrypto tokens(ring, random);
  EXPECT_EQ(tokens.session_id_digest(fixed_state().sid),
            "f29b24d1e489494f453680a0c96b791cf49ea50de336bd54343c5f3645ddc380")
      << "A change here orphans every logged-in session's row: every user would be logged out.";
}

}  // namespace
}  // namespace authfcgi
