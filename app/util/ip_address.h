#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace authfcgi::util {

// The network one client address stands for when counting failed logins. An IPv4 address (or
// an IPv4-mapped IPv6 one) is itself, in its canonical form. An IPv6 address is its /64, e.g.
// "2001:db8:1:2::/64": a /64 is what one home, office or phone is given, and anyone holding one
// can pick a fresh address in it for every request. Anything else (the web server passed
// something that is not an address) is kept as it is.
[[nodiscard]] std::string throttle_network(std::string_view address);

// An IPv4 or IPv6 address in its canonical text (an IPv4-mapped IPv6 address as IPv4), or
// nullopt for anything else.
[[nodiscard]] std::optional<std::string> canonical_ip(std::string_view address);

// 127.0.0.0/8, ::1, or ::ffff:127.x.y.z.
[[nodiscard]] bool is_loopback_ip(std::string_view address);

}  // namespace authfcgi::util
