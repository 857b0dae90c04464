// Parsing and building of the Ethernet/ARP/IPv4/IPv6/UDP/TCP headers the egress filter looks at.
// Every input is untrusted guest bytes: parsers never read past the span and return nullopt for anything
// malformed, truncated or inconsistent (the caller drops such frames).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mcpvm::net {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Mac = std::array<uint8_t, 6>;
// IPv4 addresses are kept in host byte order: 10.0.2.2 == 0x0a000202.
using Ipv4 = uint32_t;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;
// Largest Ethernet frame we accept from either side (jumbo frames are not used by virtio-net here).
constexpr size_t kMaxFrameSize = 65536;

std::string format_ipv4(Ipv4 address);
std::optional<Ipv4> parse_ipv4(const std::string& text);

struct EthernetHeader {
  Mac dst{};
  Mac src{};
  uint16_t ether_type = 0;  // after at most one 802.1Q tag is rejected (we never see VLANs)
};

struct ArpPacket {
  uint16_t operation = 0;  // 1 request, 2 reply
  Mac sender_mac{};
  Ipv4 sender_ip = 0;
  Ipv4 target_ip = 0;
};

struct Ipv4Header {
  uint8_t header_length = 0;  // bytes
  uint16_t total_length = 0;
  uint16_t identification = 0;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in 8-byte units
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  Ipv4 src = 0;
  Ipv4 dst = 0;
  bool fragmented() const { return more_fragments || fragment_offset != 0; }
};

struct Ipv6Header {
  uint8_t next_header = 0;
  uint16_t payload_length = 0;
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
};

struct TransportPorts {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;  // TCP only
  uint32_t tcp_seq = 0;   // TCP only
};

// What the filter needs to know about one guest frame.
struct Frame {
  EthernetHeader ethernet;
  std::optional<ArpPacket> arp;
  std::optional<Ipv4Header> ipv4;
  std::optional<Ipv6Header> ipv6;
  // Present for unfragmented IPv4 TCP/UDP with a complete header.
  std::optional<TransportPorts> ports;
  // The UDP payload (for DNS); empty otherwise. Points into the parsed span.
  ByteView udp_payload;
};

std::optional<EthernetHeader> parse_ethernet(ByteView frame);
std::optional<ArpPacket> parse_arp(ByteView payload);
std::optional<Ipv4Header> parse_ipv4_header(ByteView packet);
std::optional<Ipv6Header> parse_ipv6_header(ByteView packet);
// Parses as far as the frame is well formed; nullopt when the Ethernet header itself or a claimed
// ARP/IPv4/IPv6/UDP/TCP header is malformed or truncated.
std::optional<Frame> parse_frame(ByteView frame);

// RFC 1071 Internet checksum over data (plus an initial partial sum), returned ready to store.
uint16_t internet_checksum(ByteView data, uint32_t initial = 0);

struct UdpDatagram {
  Mac src_mac{};
  Mac dst_mac{};
  Ipv4 src_ip = 0;
  Ipv4 dst_ip = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  ByteView payload;
};
// Builds an Ethernet + IPv4 + UDP frame with valid checksums.
Bytes build_udp_frame(const UdpDatagram& datagram);

// The answer to a TCP SYN the filter denied: RST|ACK from the SYN's destination back to its sender
// (MACs, addresses and ports swapped, ack = the SYN's seq + 1, so the guest's stack accepts it in
// SYN-SENT). The guest's connect() then fails at once with ECONNREFUSED instead of retrying for minutes.
// `syn` must be an unfragmented IPv4 TCP frame (ports present).
Bytes build_tcp_reset(const Frame& syn);

// Big-endian helpers for builders.
void put_u16(Bytes& out, uint16_t value);
void put_u32(Bytes& out, uint32_t value);
uint16_t get_u16(ByteView data, size_t offset);
uint32_t get_u32(ByteView data, size_t offset);

}  // namespace mcpvm::net
