#include "web/device_cookie_codec.h"

#include <charconv>
#include <cstdint>
#include <exception>
#include <optional>

#include "crypto/base64url.h"
#include "crypto/hmac.h"

namespace authfcgi::web {
namespace {

constexpr std::string_view kPrefix = "d1.";
// Tags are 16 bytes and ids 16 bytes, base64url: 22 characters each.
constexpr std::size_t kMaxFieldChars = 64;

bool is_base64url(std::string_view text) {
  if (text.empty() || text.size() > kMaxFieldChars) {
    return false;
  }
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::optional<domain::DeviceMarker> parse_marker(std::string_view text) {
  const std::size_t first = text.find(':');
  const std::size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    return std::nullopt;
  }
  domain::DeviceMarker marker;
  const std::string_view tag = text.substr(0, first);
  const std::string_view id = text.substr(first + 1, second - first - 1);
  const std::string_view issued = text.substr(second + 1);
  if (!is_base64url(tag) || !is_base64url(id)) {
    return std::nullopt;
  }
  const auto [end, error] =
      std::from_chars(issued.data(), issued.data() + issued.size(), marker.issued_at);
  if (error != std::errc() || end != issued.data() + issued.size() || issued.empty()) {
    return std::nullopt;
  }
  marker.account_tag = tag;
  marker.id = id;
  return marker;
}

}  // namespace

std::string DeviceCookieCodec::encode(const std::vector<domain::DeviceMarker>& markers) const {
  std::string signed_part(kPrefix);
  for (std::size_t i = 0; i < markers.size(); ++i) {
    if (i > 0) {
      signed_part.push_back('.');
    }
    signed_part.append(markers[i].account_tag);
    signed_part.push_back(':');
    signed_part.append(markers[i].id);
    signed_part.push_back(':');
    signed_part.append(std::to_string(markers[i].issued_at));
  }
  const crypto::Mac mac =
      crypto::hmac_sign(keys_.signing_key(crypto::KeyPurpose::Device), signed_part);
  signed_part.push_back('.');
  signed_part.append(crypto::base64url_encode(mac));
  return signed_part;
}

std::vector<domain::DeviceMarker> DeviceCookieCodec::decode(std::string_view cookie_value) const {
  // A cookie is attacker input: every failure, even an allocation failure, is "no markers".
  try {
    if (cookie_value.substr(0, kPrefix.size()) != kPrefix) {
      return {};
    }
    const std::size_t dot = cookie_value.rfind('.');
    if (dot < kPrefix.size()) {
      return {};
    }
    const std::string_view signed_part = cookie_value.substr(0, dot);
    const auto mac = crypto::base64url_decode(cookie_value.substr(dot + 1));
    if (!mac || mac->size() != sizeof(crypto::Mac)) {
      return {};
    }
    if (!crypto::hmac_verify_any(keys_, crypto::KeyPurpose::Device, signed_part, *mac)) {
      return {};
    }
    std::vector<domain::DeviceMarker> markers;
    std::string_view rest = signed_part.substr(kPrefix.size());
    while (!rest.empty()) {
      const std::size_t end = rest.find('.');
      const auto marker = parse_marker(rest.substr(0, end));
      if (!marker || markers.size() == domain::kMaxDeviceMarkers) {
        return {};
      }
      markers.push_back(*marker);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    return markers;
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace authfcgi::web
