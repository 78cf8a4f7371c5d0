#include "web/session_codec.h"

#include <cstddef>
#include <exception>
#include <limits>
#include <span>
#include <vector>

#include "crypto/base64url.h"
#include "crypto/hmac.h"

// Payload (before base64url): a flat binary record, each integer big-endian, each string a
// 4-byte length followed by its bytes, so any byte may appear in any string:
//   string sid | u8 has_user | [i64 user_id] | i64 issued_at | string csrf_secret |
//   u32 flash count | string flash...
// The version lives in the "v1." prefix, which the MAC covers together with the encoded payload.

namespace authfcgi::web {

namespace {

constexpr std::string_view kPrefix = "v1.";
// How far a cookie's issue time may lie ahead of our clock (another worker's clock) before it
// is refused as forged or broken.
constexpr std::int64_t kClockSkewSeconds = 60;

class Writer {
 public:
  // Reserving up front also keeps GCC 12 at -O3 from a false -Wstringop-overflow on the first
  // push_back into an empty vector.
  Writer() { bytes_.reserve(kInitialCapacity); }
  void u8(std::uint8_t value) { bytes_.push_back(value); }
  void u32(std::uint32_t value) { put(value, 4); }
  void i64(std::int64_t value) { put(static_cast<std::uint64_t>(value), 8); }
  void string(std::string_view value) {
    u32(static_cast<std::uint32_t>(value.size()));
    bytes_.insert(bytes_.end(), value.begin(), value.end());
  }
  [[nodiscard]] const std::vector<unsigned char>& bytes() const { return bytes_; }

 private:
  void put(std::uint64_t value, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
      bytes_.push_back(static_cast<unsigned char>((value >> static_cast<unsigned>(shift)) & 0xFFU));
    }
  }
  static constexpr std::size_t kInitialCapacity = 256;
  std::vector<unsigned char> bytes_;
};

// Every read checks the remaining length; a short or overlong record fails as a whole.
class Reader {
 public:
  explicit Reader(std::span<const unsigned char> bytes) : bytes_(bytes) {}

  bool u8(std::uint8_t& out) {
    std::uint64_t value = 0;
    if (!get(value, 1)) {
      return false;
    }
    out = static_cast<std::uint8_t>(value);
    return true;
  }
  bool u32(std::uint32_t& out) {
    std::uint64_t value = 0;
    if (!get(value, 4)) {
      return false;
    }
    out = static_cast<std::uint32_t>(value);
    return true;
  }
  bool i64(std::int64_t& out) {
    std::uint64_t value = 0;
    if (!get(value, 8)) {
      return false;
    }
    out = static_cast<std::int64_t>(value);
    return true;
  }
  bool string(std::string& out) {
    std::uint32_t length = 0;
    if (!u32(length) || length > remaining()) {
      return false;
    }
    const auto part = bytes_.subspan(position_, length);
    out.assign(part.begin(), part.end());
    position_ += length;
    return true;
  }
  [[nodiscard]] std::size_t remaining() const { return bytes_.size() - position_; }

 private:
  bool get(std::uint64_t& out, std::size_t width) {
    if (remaining() < width) {
      return false;
    }
    out = 0;
    for (std::size_t i = 0; i < width; ++i) {
      out = (out << 8U) | bytes_[position_ + i];
    }
    position_ += width;
    return true;
  }
  std::span<const unsigned char> bytes_;
  std::size_t position_ = 0;
};

std::optional<domain::SessionState> parse_payload(std::span<const unsigned char> payload) {
  Reader reader(payload);
  domain::SessionState state;
  std::uint8_t has_user = 0;
  if (!reader.string(state.sid) || !reader.u8(has_user) || has_user > 1) {
    return std::nullopt;
  }
  if (has_user == 1) {
    std::int64_t user_id = 0;
    if (!reader.i64(user_id)) {
      return std::nullopt;
    }
    state.user_id = user_id;
  }
  std::uint32_t flash_count = 0;
  if (!reader.i64(state.issued_at) || !reader.string(state.csrf_secret) ||
      !reader.u32(flash_count)) {
    return std::nullopt;
  }
  // Each flash takes at least its 4-byte length, which bounds the count by the data present.
  if (flash_count > reader.remaining() / 4) {
    return std::nullopt;
  }
  state.flashes.resize(flash_count);
  for (std::string& flash : state.flashes) {
    if (!reader.string(flash)) {
      return std::nullopt;
    }
  }
  if (reader.remaining() != 0) {
    return std::nullopt;
  }
  return state;
}

}  // namespace

SessionCodec::SessionCodec(const crypto::KeyRing& keys, std::int64_t max_age_seconds)
    : keys_(keys), max_age_seconds_(max_age_seconds) {}

std::string SessionCodec::encode(const domain::SessionState& state) const {
  Writer writer;
  writer.string(state.sid);
  writer.u8(state.user_id ? 1 : 0);
  if (state.user_id) {
    writer.i64(*state.user_id);
  }
  writer.i64(state.issued_at);
  writer.string(state.csrf_secret);
  writer.u32(static_cast<std::uint32_t>(state.flashes.size()));
  for (const std::string& flash : state.flashes) {
    writer.string(flash);
  }
  std::string signed_part = std::string(kPrefix) + crypto::base64url_encode(writer.bytes());
  const crypto::Mac mac =
      crypto::hmac_sign(keys_.signing_key(crypto::KeyPurpose::Session), signed_part);
  return signed_part + "." + crypto::base64url_encode(mac);
}

std::optional<domain::SessionState> SessionCodec::decode(std::string_view cookie_value,
                                                         std::int64_t now) const {
  // A cookie is attacker input: every failure, even an allocation failure, is "no session".
  try {
    if (cookie_value.substr(0, kPrefix.size()) != kPrefix) {
      return std::nullopt;
    }
    const std::size_t dot = cookie_value.rfind('.');
    if (dot < kPrefix.size()) {
      return std::nullopt;  // only the prefix's dot: no MAC part
    }
    const std::string_view signed_part = cookie_value.substr(0, dot);
    const auto mac = crypto::base64url_decode(cookie_value.substr(dot + 1));
    if (!mac || mac->size() != sizeof(crypto::Mac)) {
      return std::nullopt;
    }
    if (!crypto::hmac_verify_any(keys_, crypto::KeyPurpose::Session, signed_part, *mac)) {
      return std::nullopt;
    }
    const auto payload = crypto::base64url_decode(signed_part.substr(kPrefix.size()));
    if (!payload) {
      return std::nullopt;
    }
    auto state = parse_payload(*payload);
    // Written so that no subtraction can overflow, whatever issued_at the payload holds.
    if (!state || state->issued_at > now + kClockSkewSeconds ||
        state->issued_at < now - max_age_seconds_) {
      return std::nullopt;
    }
    return state;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace authfcgi::web
