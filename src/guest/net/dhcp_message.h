// DHCP (RFC 2131/2132) messages as the guest's client builds and reads them. parse_dhcp() takes
// untrusted bytes (whatever arrives on the wire) and returns nullopt for anything malformed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mcpvm::guest::net {

using Ipv4 = uint32_t;  // host byte order
using Mac = std::array<uint8_t, 6>;

enum class DhcpType : uint8_t {
  discover = 1,
  offer = 2,
  request = 3,
  decline = 4,
  ack = 5,
  nak = 6,
  release = 7
};

struct DhcpMessage {
  uint8_t op = 1;  // 1 request (client), 2 reply (server)
  uint32_t xid = 0;
  uint16_t secs = 0;
  bool broadcast = true;
  Ipv4 ciaddr = 0, yiaddr = 0, siaddr = 0;
  Mac chaddr{};
  std::optional<DhcpType> type;
  // Options (present when non-zero / non-empty).
  Ipv4 server_id = 0, requested_ip = 0, subnet_mask = 0;
  std::vector<Ipv4> routers;
  std::vector<Ipv4> dns_servers;
  uint32_t lease_seconds = 0, renewal_seconds = 0, rebinding_seconds = 0;
  std::string hostname;
  std::string domain_name;
};

std::vector<uint8_t> build_dhcp(const DhcpMessage& message);
std::optional<DhcpMessage> parse_dhcp(std::span<const uint8_t> bytes);

// Prefix length of a contiguous netmask (255.255.255.0 -> 24); nullopt if not contiguous.
std::optional<int> netmask_prefix(Ipv4 mask);
std::string format_ip(Ipv4 address);

}  // namespace mcpvm::guest::net
