#include "net/packet.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>

namespace mcpvm::net {

std::string format_ipv4(Ipv4 a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::optional<Ipv4> parse_ipv4(const std::string& text) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) return std::nullopt;
  return ntohl(addr.s_addr);
}

uint16_t get_u16(ByteView d, size_t o) {
  return static_cast<uint16_t>(d[o] << 8 | d[o + 1]);
}
uint32_t get_u32(ByteView d, size_t o) {
  return static_cast<uint32_t>(d[o]) << 24 | static_cast<uint32_t>(d[o + 1]) << 16 |
         static_cast<uint32_t>(d[o + 2]) << 8 | d[o + 3];
}
void put_u16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put_u32(Bytes& out, uint32_t v) {
  put_u16(out, static_cast<uint16_t>(v >> 16));
  put_u16(out, static_cast<uint16_t>(v));
}

namespace {

Mac read_mac(ByteView d, size_t o) {
  Mac mac{};
  std::copy_n(d.begin() + static_cast<std::ptrdiff_t>(o), 6, mac.begin());
  return mac;
}

constexpr size_t kEthernetHeaderSize = 14;
constexpr size_t kUdpHeaderSize = 8;
constexpr size_t kTcpMinHeaderSize = 20;

// Fills frame.ports / udp_payload from an unfragmented IPv4 packet's payload.
bool parse_transport(uint8_t protocol, ByteView l4, Frame& frame) {
  if (protocol == kProtoUdp) {
    if (l4.size() < kUdpHeaderSize) return false;
    uint16_t udp_length = get_u16(l4, 4);
    if (udp_length < kUdpHeaderSize || udp_length > l4.size()) return false;
    frame.ports = TransportPorts{get_u16(l4, 0), get_u16(l4, 2), 0};
    frame.udp_payload = l4.subspan(kUdpHeaderSize, udp_length - kUdpHeaderSize);
  } else if (protocol == kProtoTcp) {
    if (l4.size() < kTcpMinHeaderSize) return false;
    size_t data_offset = static_cast<size_t>(l4[12] >> 4) * 4;
    if (data_offset < kTcpMinHeaderSize || data_offset > l4.size()) return false;
    frame.ports = TransportPorts{get_u16(l4, 0), get_u16(l4, 2), l4[13], get_u32(l4, 4)};
  }
  return true;
}

}  // namespace

std::optional<EthernetHeader> parse_ethernet(ByteView f) {
  if (f.size() < kEthernetHeaderSize || f.size() > kMaxFrameSize) return std::nullopt;
  return EthernetHeader{read_mac(f, 0), read_mac(f, 6), get_u16(f, 12)};
}

std::optional<ArpPacket> parse_arp(ByteView p) {
  // Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
  if (p.size() < 28 || get_u16(p, 0) != 1 || get_u16(p, 2) != kEtherTypeIpv4 || p[4] != 6 || p[5] != 4)
    return std::nullopt;
  return ArpPacket{get_u16(p, 6), read_mac(p, 8), get_u32(p, 14), get_u32(p, 24)};
}

std::optional<Ipv4Header> parse_ipv4_header(ByteView p) {
  if (p.size() < 20 || (p[0] >> 4) != 4) return std::nullopt;
  Ipv4Header h;
  h.header_length = static_cast<uint8_t>((p[0] & 0x0f) * 4);
  h.total_length = get_u16(p, 2);
  if (h.header_length < 20 || h.total_length < h.header_length || h.total_length > p.size())
    return std::nullopt;
  h.identification = get_u16(p, 4);
  uint16_t flags_fragment = get_u16(p, 6);
  h.more_fragments = (flags_fragment & 0x2000) != 0;
  h.fragment_offset = flags_fragment & 0x1fff;
  h.ttl = p[8];
  h.protocol = p[9];
  h.src = get_u32(p, 12);
  h.dst = get_u32(p, 16);
  return h;
}

std::optional<Ipv6Header> parse_ipv6_header(ByteView p) {
  if (p.size() < 40 || (p[0] >> 4) != 6) return std::nullopt;
  Ipv6Header h;
  h.payload_length = get_u16(p, 4);
  if (40u + h.payload_length > p.size()) return std::nullopt;
  h.next_header = p[6];
  std::copy_n(p.begin() + 8, 16, h.src.begin());
  std::copy_n(p.begin() + 24, 16, h.dst.begin());
  return h;
}

std::optional<Frame> parse_frame(ByteView f) {
  auto ethernet = parse_ethernet(f);
  if (!ethernet) return std::nullopt;
  Frame frame;
  frame.ethernet = *ethernet;
  ByteView payload = f.subspan(kEthernetHeaderSize);
  switch (ethernet->ether_type) {
    case kEtherTypeArp:
      frame.arp = parse_arp(payload);
      if (!frame.arp) return std::nullopt;
      break;
    case kEtherTypeIpv6:
      frame.ipv6 = parse_ipv6_header(payload);
      if (!frame.ipv6) return std::nullopt;
      break;
    case kEtherTypeIpv4: {
      frame.ipv4 = parse_ipv4_header(payload);
      if (!frame.ipv4) return std::nullopt;
      if (frame.ipv4->fragmented()) break;  // no transport header to look at; the filter decides
      ByteView l4 =
          payload.subspan(frame.ipv4->header_length, frame.ipv4->total_length - frame.ipv4->header_length);
      if (!parse_transport(frame.ipv4->protocol, l4, frame)) return std::nullopt;
      break;
    }
    default:
      break;  // other ether types: the filter drops them
  }
  return frame;
}

uint16_t internet_checksum(ByteView data, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

namespace {

// Ethernet + IPv4 header (no options, DF, ttl 64, checksum filled in); the caller appends `l4_length` bytes.
Bytes ipv4_packet_head(const Mac& src_mac, const Mac& dst_mac, Ipv4 src, Ipv4 dst, uint8_t protocol,
                       size_t l4_length) {
  Bytes out;
  out.reserve(kEthernetHeaderSize + 20 + l4_length);
  out.insert(out.end(), dst_mac.begin(), dst_mac.end());
  out.insert(out.end(), src_mac.begin(), src_mac.end());
  put_u16(out, kEtherTypeIpv4);
  size_t ip_start = out.size();
  out.push_back(0x45);
  out.push_back(0);
  put_u16(out, static_cast<uint16_t>(20 + l4_length));
  put_u16(out, 0);       // identification
  put_u16(out, 0x4000);  // don't fragment
  out.push_back(64);     // ttl
  out.push_back(protocol);
  put_u16(out, 0);  // checksum, below
  put_u32(out, src);
  put_u32(out, dst);
  uint16_t ip_sum = internet_checksum(ByteView(out).subspan(ip_start, 20));
  out[ip_start + 10] = static_cast<uint8_t>(ip_sum >> 8);
  out[ip_start + 11] = static_cast<uint8_t>(ip_sum);
  return out;
}

// Fills in the TCP/UDP checksum (at `offset` within the segment starting at `start`) over the pseudo-header.
uint16_t transport_checksum(const Bytes& out, size_t start, Ipv4 src, Ipv4 dst, uint8_t protocol) {
  auto length = static_cast<uint32_t>(out.size() - start);
  uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + protocol + length;
  return internet_checksum(ByteView(out).subspan(start), pseudo);
}

void store_u16(Bytes& out, size_t at, uint16_t value) {
  out[at] = static_cast<uint8_t>(value >> 8);
  out[at + 1] = static_cast<uint8_t>(value);
}

}  // namespace

Bytes build_udp_frame(const UdpDatagram& d) {
  auto udp_length = static_cast<uint16_t>(kUdpHeaderSize + d.payload.size());
  Bytes out = ipv4_packet_head(d.src_mac, d.dst_mac, d.src_ip, d.dst_ip, kProtoUdp, udp_length);
  size_t udp_start = out.size();
  put_u16(out, d.src_port);
  put_u16(out, d.dst_port);
  put_u16(out, udp_length);
  put_u16(out, 0);
  out.insert(out.end(), d.payload.begin(), d.payload.end());
  uint16_t udp_sum = transport_checksum(out, udp_start, d.src_ip, d.dst_ip, kProtoUdp);
  store_u16(out, udp_start + 6, udp_sum == 0 ? 0xffff : udp_sum);
  return out;
}

Bytes build_tcp_reset(const Frame& syn) {
  const Ipv4Header& ip = *syn.ipv4;
  const TransportPorts& ports = *syn.ports;
  Bytes out =
      ipv4_packet_head(syn.ethernet.dst, syn.ethernet.src, ip.dst, ip.src, kProtoTcp, kTcpMinHeaderSize);
  size_t tcp_start = out.size();
  put_u16(out, ports.dst_port);
  put_u16(out, ports.src_port);
  put_u32(out, 0);                  // seq: a RST with ACK set takes its sequence from the ack field
  put_u32(out, ports.tcp_seq + 1);  // acknowledges the SYN
  out.push_back(0x50);              // data offset 5 words
  out.push_back(kTcpRst | kTcpAck);
  put_u16(out, 0);  // window
  put_u16(out, 0);  // checksum, below
  put_u16(out, 0);  // urgent pointer
  store_u16(out, tcp_start + 16, transport_checksum(out, tcp_start, ip.dst, ip.src, kProtoTcp));
  return out;
}

}  // namespace mcpvm::net
