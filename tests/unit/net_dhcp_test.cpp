// The guest's DHCP codec and network config: round trips, hostile server replies, strict JSON.
#include <gtest/gtest.h>

#include <random>

#include "guest/net/dhcp_client.h"
#include "guest/net/dhcp_message.h"
#include "guest/net/network.h"

namespace mcpvm::guest::net {
namespace {

DhcpMessage server_ack() {
  DhcpMessage m;
  m.op = 2;
  m.xid = 0xdeadbeef;
  m.chaddr = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
  m.yiaddr = 0x0a00020f;
  m.type = DhcpType::ack;
  m.server_id = 0x0a000202;
  m.subnet_mask = 0xffffff00;
  m.routers = {0x0a000202};
  m.dns_servers = {0x0a000203};
  m.lease_seconds = 86400;
  return m;
}

TEST(NetDhcp, ClientMessagesRoundTrip) {
  DhcpMessage m;
  m.xid = 42;
  m.chaddr = {1, 2, 3, 4, 5, 6};
  m.type = DhcpType::request;
  m.requested_ip = 0x0a00020f;
  m.server_id = 0x0a000202;
  m.hostname = "srv";
  auto bytes = build_dhcp(m);
  EXPECT_GE(bytes.size(), 300u);
  auto parsed = parse_dhcp(bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->xid, 42u);
  EXPECT_EQ(parsed->chaddr, m.chaddr);
  EXPECT_EQ(parsed->type, DhcpType::request);
  EXPECT_EQ(parsed->requested_ip, 0x0a00020fu);
  EXPECT_EQ(parsed->server_id, 0x0a000202u);
  EXPECT_EQ(parsed->hostname, "srv");
}

TEST(NetDhcp, AckBecomesALease) {
  auto parsed = parse_dhcp(build_dhcp(server_ack()));
  ASSERT_TRUE(parsed);
  DhcpLease lease = lease_from_ack(*parsed);
  EXPECT_EQ(lease.address, 0x0a00020fu);
  EXPECT_EQ(lease.prefix, 24);
  EXPECT_EQ(lease.router, 0x0a000202u);
  EXPECT_EQ(lease.dns_servers, std::vector<Ipv4>{0x0a000203});
  EXPECT_EQ(lease.lease_seconds, 86400u);
  EXPECT_EQ(lease.renewal_seconds, 43200u);  // T1 defaults to half the lease
}

TEST(NetDhcp, RejectsMalformedMessages) {
  auto good = build_dhcp(server_ack());
  for (size_t len = 0; len < 240; ++len) EXPECT_FALSE(parse_dhcp(std::span(good).first(len))) << len;
  auto bad_cookie = good;
  bad_cookie[236] = 0;
  EXPECT_FALSE(parse_dhcp(bad_cookie));
  // An option whose length runs past the end.
  std::vector<uint8_t> overflow(good.begin(), good.begin() + 240);
  overflow.insert(overflow.end(), {6, 200, 10, 0, 2, 3});
  EXPECT_FALSE(parse_dhcp(overflow));
  // Router list not a multiple of 4, message type out of range, mask of the wrong size.
  for (std::vector<uint8_t> option : {std::vector<uint8_t>{3, 3, 1, 2, 3}, std::vector<uint8_t>{53, 1, 99},
                                      std::vector<uint8_t>{1, 2, 255, 255}}) {
    std::vector<uint8_t> m(good.begin(), good.begin() + 240);
    m.insert(m.end(), option.begin(), option.end());
    m.push_back(255);
    EXPECT_FALSE(parse_dhcp(m));
  }
}

TEST(NetDhcp, RandomBytesNeverCrash) {
  auto good = build_dhcp(server_ack());
  std::mt19937 rng(3);
  for (int i = 0; i < 20000; ++i) {
    auto m = good;
    m.resize(241 + rng() % 80);
    for (int k = 0; k < 8; ++k) m[240 + rng() % (m.size() - 240)] = static_cast<uint8_t>(rng());
    if (auto parsed = parse_dhcp(m)) (void)lease_from_ack(*parsed);
  }
}

TEST(NetDhcp, NetmaskPrefix) {
  EXPECT_EQ(netmask_prefix(0xffffff00), 24);
  EXPECT_EQ(netmask_prefix(0xffffffff), 32);
  EXPECT_EQ(netmask_prefix(0), 0);
  EXPECT_FALSE(netmask_prefix(0xff00ff00));
}

TEST(NetGuestConfig, ParsesAndRenders) {
  auto c = parse_network_config(nlohmann::json::parse(
      R"({"hostname": "weather", "hosts": [{"name": "api.test", "ip": "10.0.2.2"}], "renew": false})"));
  EXPECT_EQ(c.interface, "eth0");
  EXPECT_FALSE(c.renew);
  DhcpLease lease = lease_from_ack(*parse_dhcp(build_dhcp(server_ack())));
  EXPECT_EQ(render_resolv_conf(lease), "nameserver 10.0.2.3\n");
  std::string hosts = render_hosts(c, lease);
  EXPECT_NE(hosts.find("10.0.2.15\tweather\n"), std::string::npos);
  EXPECT_NE(hosts.find("10.0.2.2\tapi.test\n"), std::string::npos);
  EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos);
}

TEST(NetGuestConfig, StaticAddressReplacesDhcp) {
  auto c = parse_network_config(nlohmann::json::parse(
      R"({"hostname": "w", "address": "10.0.2.15/24", "gateway": "10.0.2.2", "dns": ["10.0.2.3", "1.1.1.1"]})"));
  ASSERT_TRUE(c.static_lease);
  EXPECT_EQ(format_ip(c.static_lease->address), "10.0.2.15");
  EXPECT_EQ(c.static_lease->prefix, 24);
  EXPECT_EQ(format_ip(c.static_lease->router), "10.0.2.2");
  EXPECT_EQ(render_resolv_conf(*c.static_lease), "nameserver 10.0.2.3\nnameserver 1.1.1.1\n");
  EXPECT_NE(render_hosts(c, *c.static_lease).find("10.0.2.15\tw\n"), std::string::npos);
  EXPECT_FALSE(parse_network_config(nlohmann::json::object()).static_lease) << "no address: DHCP";
  for (const char* bad :
       {R"({"address": "10.0.2.15/24"})", R"({"address": "10.0.2.15/24", "gateway": "10.0.2.2"})",
        R"({"address": "10.0.2.15", "gateway": "10.0.2.2", "dns": []})",
        R"({"address": "10.0.2.15/33", "gateway": "10.0.2.2", "dns": []})",
        R"({"address": "10.0.2.15/", "gateway": "10.0.2.2", "dns": []})",
        R"({"address": "10.0.2.15/-1", "gateway": "10.0.2.2", "dns": []})",
        R"({"address": "10.0.2.x/24", "gateway": "10.0.2.2", "dns": []})",
        R"({"address": "10.0.2.15/24", "gateway": "gw", "dns": []})",
        R"({"address": "10.0.2.15/24", "gateway": "10.0.2.2", "dns": "10.0.2.3"})",
        R"({"address": "10.0.2.15/24", "gateway": "10.0.2.2", "dns": [3]})",
        R"({"address": 7, "gateway": "10.0.2.2", "dns": []})"}) {
    EXPECT_THROW(parse_network_config(nlohmann::json::parse(bad)), std::runtime_error) << bad;
  }
}

TEST(NetGuestConfig, StrictJson) {
  for (const char* bad :
       {R"({"iface": "eth0"})", R"({"renew": "yes"})", R"({"hosts": {"a": "b"}})",
        R"({"hosts": [{"name": "a b", "ip": "1.2.3.4"}]})", R"({"hosts": [{"name": "a", "ip": "x"}]})",
        R"({"hosts": [{"name": "a", "ip": "1.2.3.4", "extra": 1}]})", R"({"interface": "../x"})",
        R"({"hostname": "bad host"})", R"({"dhcp_timeout_ms": 0})", R"([])"}) {
    EXPECT_THROW(parse_network_config(nlohmann::json::parse(bad)), std::runtime_error) << bad;
  }
}

}  // namespace
}  // namespace mcpvm::guest::net
