#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace authfcgi::domain {

// One entry of the device cookie (OWASP's device cookies): this browser once logged into the
// account that account_tag names (a keyed hash of its email, never the email). It logs no one
// in; it only lets the browser's failures count against itself, and spares the browser the
// address's and the account's waits, until it is killed by its own failures.
struct DeviceMarker {
  std::string account_tag;  // TokenCrypto::device_account_tag of the email
  std::string id;           // random: the marker's own failure counter
  std::int64_t issued_at = 0;
  bool operator==(const DeviceMarker&) const = default;
};

// Accounts one browser's device cookie remembers; a new one pushes out the oldest.
inline constexpr std::size_t kMaxDeviceMarkers = 5;

}  // namespace authfcgi::domain
