#include "util/ip_address.h"

#include <gtest/gtest.h>

namespace authfcgi::util {
namespace {

TEST(ThrottleNetwork, AnIpv4AddressIsItself) {
  EXPECT_EQ(throttle_network("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(throttle_network("127.0.0.2"), "127.0.0.2");
}

TEST(ThrottleNetwork, AnIpv6AddressIsItsSlash64) {
  EXPECT_EQ(throttle_network("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  // Every address of one /64 is one network, however it is written.
  EXPECT_EQ(throttle_network("2001:DB8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(throttle_network("2001:0db8:0001:0002:0:0:0:ffff"), "2001:db8:1:2::/64");
  EXPECT_NE(throttle_network("2001:db8:1:3::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(throttle_network("::1"), "::/64");
}

TEST(ThrottleNetwork, AnIpv4MappedAddressIsTheIpv4One) {
  EXPECT_EQ(throttle_network("::ffff:203.0.113.9"), "203.0.113.9");
}

TEST(ThrottleNetwork, AnythingElseIsKeptAsItIs) {
  EXPECT_EQ(throttle_network(""), "");
  EXPECT_EQ(throttle_network("unix:"), "unix:");
  EXPECT_EQ(throttle_network("203.0.113.9 "), "203.0.113.9 ");
  EXPECT_EQ(throttle_network("1.2.3.4.5"), "1.2.3.4.5");
  const std::string long_text(500, 'a');
  EXPECT_EQ(throttle_network(long_text), long_text);
}

TEST(CanonicalIp, WritesEveryAddressOneWayAndRefusesTheRest) {
  EXPECT_EQ(canonical_ip("192.0.2.10"), "192.0.2.10");
  EXPECT_EQ(canonical_ip("2001:DB8:0:0::7"), "2001:db8::7");
  EXPECT_EQ(canonical_ip("::ffff:192.0.2.10"), "192.0.2.10");
  EXPECT_EQ(canonical_ip("192.0.2.0/24"), std::nullopt);
  EXPECT_EQ(canonical_ip("localhost"), std::nullopt);
  EXPECT_EQ(canonical_ip(""), std::nullopt);
}

TEST(IsLoopbackIp, OnlyTheLoopbackNetworks) {
  EXPECT_TRUE(is_loopback_ip("127.0.0.1"));
  EXPECT_TRUE(is_loopback_ip("127.255.0.9"));
  EXPECT_TRUE(is_loopback_ip("::1"));
  EXPECT_TRUE(is_loopback_ip("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_ip("128.0.0.1"));
  EXPECT_FALSE(is_loopback_ip("::2"));
  EXPECT_FALSE(is_loopback_ip("10.127.0.1"));
  EXPECT_FALSE(is_loopback_ip("127.0.0.1.evil"));
}

}  // namespace
}  // namespace authfcgi::util
