#include "util/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstring>

namespace authfcgi::util {

std::string throttle_network(std::string_view address) {
  // inet_pton needs a terminated string; no address is longer than this.
  constexpr std::size_t kMaxText = 64;
  if (address.empty() || address.size() >= kMaxText) {
    return std::string(address);
  }
  std::string text(address);
  std::array<char, INET6_ADDRSTRLEN> shown{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return inet_ntop(AF_INET, &v4, shown.data(), shown.size()) != nullptr ? shown.data() : text;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) {
    return text;
  }
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4.s_addr, &v6.s6_addr[12], sizeof v4.s_addr);
    return inet_ntop(AF_INET, &v4, shown.data(), shown.size()) != nullptr ? shown.data() : text;
  }
  std::memset(&v6.s6_addr[8], 0, 8);  // the interface half
  if (inet_ntop(AF_INET6, &v6, shown.data(), shown.size()) == nullptr) {
    return text;
  }
  return std::string(shown.data()) + "/64";
}

std::optional<std::string> canonical_ip(std::string_view address) {
  constexpr std::size_t kMaxText = 64;
  if (address.empty() || address.size() >= kMaxText) {
    return std::nullopt;
  }
  const std::string text(address);
  std::array<char, INET6_ADDRSTRLEN> shown{};
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) != 1) {
    if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) {
      return std::nullopt;
    }
    if (!IN6_IS_ADDR_V4MAPPED(&v6)) {
      return inet_ntop(AF_INET6, &v6, shown.data(), shown.size()) != nullptr
                 ? std::optional<std::string>(shown.data())
                 : std::nullopt;
    }
    std::memcpy(&v4.s_addr, &v6.s6_addr[12], sizeof v4.s_addr);
  }
  return inet_ntop(AF_INET, &v4, shown.data(), shown.size()) != nullptr
             ? std::optional<std::string>(shown.data())
             : std::nullopt;
}

bool is_loopback_ip(std::string_view address) {
  const auto canonical = canonical_ip(address);
  return canonical && (canonical->starts_with("127.") || *canonical == "::1");
}

}  // namespace authfcgi::util
