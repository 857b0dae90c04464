// Builders of guest frames for the network unit tests.
#pragma once

#include <string>

#include "net/dns.h"
#include "net/packet.h"

namespace mcpvm::net::test {

inline Bytes ipv4_frame(Ipv4 src, Ipv4 dst, uint8_t protocol, const Bytes& l4) {
  Bytes f(12, 0x02);
  put_u16(f, kEtherTypeIpv4);
  f.push_back(0x45);
  f.push_back(0);
  put_u16(f, static_cast<uint16_t>(20 + l4.size()));
  put_u32(f, 0x00004000);
  f.push_back(64);
  f.push_back(protocol);
  put_u16(f, 0);
  put_u32(f, src);
  put_u32(f, dst);
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

inline void store_u16(Bytes& frame, size_t at, uint16_t value) {
  frame[at] = static_cast<uint8_t>(value >> 8);
  frame[at + 1] = static_cast<uint8_t>(value);
}

// Valid IPv4 header and TCP checksums, so that slirp (which drops segments with bad checksums) takes
// the frame when the filter lets it through.
inline Bytes tcp_frame(Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport, uint8_t flags) {
  Bytes tcp;
  put_u16(tcp, sport);
  put_u16(tcp, dport);
  put_u32(tcp, 1);
  put_u32(tcp, 0);
  tcp.push_back(0x50);
  tcp.push_back(flags);
  put_u16(tcp, 65535);
  put_u32(tcp, 0);
  uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + kProtoTcp +
                    static_cast<uint32_t>(tcp.size());
  store_u16(tcp, 16, internet_checksum(tcp, pseudo));
  Bytes frame = ipv4_frame(src, dst, kProtoTcp, tcp);
  store_u16(frame, 14 + 10, internet_checksum(ByteView(frame).subspan(14, 20)));
  return frame;
}

inline Bytes udp_frame(Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport, const Bytes& payload = {}) {
  return build_udp_frame({{}, {}, src, dst, sport, dport, payload});
}

inline Bytes arp_frame() {
  Bytes f(12, 0xff);
  put_u16(f, kEtherTypeArp);
  put_u16(f, 1);
  put_u16(f, kEtherTypeIpv4);
  f.push_back(6);
  f.push_back(4);
  put_u16(f, 1);
  f.insert(f.end(), 6, 0x52);
  put_u32(f, 0x0a00020f);
  f.insert(f.end(), 6, 0);
  put_u32(f, 0x0a000202);
  return f;
}

inline Bytes ipv6_frame() {
  Bytes f(12, 0x33);
  put_u16(f, kEtherTypeIpv6);
  f.push_back(0x60);
  f.insert(f.end(), 3, 0);
  put_u16(f, 8);
  f.push_back(kProtoUdp);
  f.push_back(64);
  f.insert(f.end(), 32, 0);
  f.insert(f.end(), 8, 0);
  return f;
}

inline Bytes dns_query(uint16_t id, const std::string& name, uint16_t qtype) {
  Bytes m;
  put_u16(m, id);
  put_u16(m, 0x0100);
  put_u16(m, 1);
  put_u16(m, 0);
  put_u16(m, 0);
  put_u16(m, 0);
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    m.push_back(static_cast<uint8_t>(end - start));
    m.insert(m.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(end));
    start = end + 1;
  }
  m.push_back(0);
  put_u16(m, qtype);
  put_u16(m, kDnsClassIn);
  return m;
}

}  // namespace mcpvm::net::test
