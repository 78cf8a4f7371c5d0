#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crypto/key_ring.h"
#include "domain/device_marker.h"

namespace authfcgi::web {

// Device markers <-> "d1.<tag>:<id>:<issued_at>.<...>.<base64url HMAC-SHA-256>" with the device
// key. Tags and ids are base64url, so neither ':' nor '.' occurs in them. Decoding verifies
// against the current and previous keys; anything malformed, unsigned or with more than
// kMaxDeviceMarkers entries gives no markers (an untrusted browser), never an error.
class DeviceCookieCodec {
 public:
  explicit DeviceCookieCodec(const crypto::KeyRing& keys) : keys_(keys) {}

  [[nodiscard]] std::string encode(const std::vector<domain::DeviceMarker>& markers) const;
  [[nodiscard]] std::vector<domain::DeviceMarker> decode(std::string_view cookie_value) const;

 private:
  const crypto::KeyRing& keys_;
};

}  // namespace authfcgi::web
