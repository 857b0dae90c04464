#include "net/filter.h"

namespace mcpvm::net {
namespace {

constexpr uint16_t kDnsPort = 53, kDotPort = 853, kDhcpServerPort = 67;

Verdict pass(std::string reason, Ipv4 dst = 0, uint16_t port = 0) {
  return {Action::pass, std::move(reason), dst, port};
}
Verdict drop(std::string reason, Ipv4 dst = 0, uint16_t port = 0) {
  return {Action::drop, std::move(reason), dst, port};
}

bool in_prefix(Ipv4 a, Ipv4 prefix, int bits) {
  return (a >> (32 - bits)) == (prefix >> (32 - bits));
}

const char* flow_kind(uint8_t protocol) {
  switch (protocol) {
    case kProtoTcp:
      return "tcp_connect";
    case kProtoUdp:
      return "udp";
    case kProtoIcmp:
      return "icmp";
  }
  return "ip_other";
}

}  // namespace

std::string_view forbidden_destination(Ipv4 dst) {
  if (in_prefix(dst, 0x7f000000, 8)) return "loopback";
  if (in_prefix(dst, 0x00000000, 8)) return "unspecified";
  if (in_prefix(dst, 0xa9fe0000, 16)) return "link_local_metadata";
  if (dst == 0x646464c8) return "link_local_metadata";  // 100.100.100.200
  if (in_prefix(dst, 0xe0000000, 4)) return "multicast";
  if (in_prefix(dst, 0xf0000000, 4)) return "broadcast_reserved";
  return {};
}

EgressFilter::EgressFilter(EgressPolicy policy, VirtualNetwork vnet)
    : policy_(std::move(policy)), vnet_(vnet) {}

void EgressFilter::learn(Ipv4 address, Clock::time_point expiry) {
  auto& current = learned_[address];
  if (expiry > current) current = expiry;
}

bool EgressFilter::learned(Ipv4 address, Clock::time_point now) const {
  auto it = learned_.find(address);
  return it != learned_.end() && it->second > now;
}

void EgressFilter::forget_expired(Clock::time_point now) {
  std::erase_if(learned_, [&](const auto& e) { return e.second <= now; });
}

Verdict EgressFilter::inspect(const Frame& frame, Clock::time_point now) const {
  if (frame.arp) return pass("arp");
  if (frame.ipv6) return drop("ipv6");
  if (frame.ipv4) return inspect_ipv4(frame, now);
  return drop("ethertype");
}

Verdict EgressFilter::inspect_ipv4(const Frame& frame, Clock::time_point now) const {
  const Ipv4Header& ip = *frame.ipv4;
  // Fragments carry no (or a partial) transport header: the filter could not see the ports.
  if (ip.fragmented()) return drop("fragment", ip.dst);
  uint16_t dport = frame.ports ? frame.ports->dst_port : 0;
  if (ip.protocol == kProtoUdp && dport == kDhcpServerPort &&
      (ip.dst == 0xffffffff || ip.dst == vnet_.gateway))
    return pass("dhcp");
  if (ip.protocol == kProtoUdp && ip.dst == vnet_.dns && dport == kDnsPort)
    return {Action::answer_dns, "dns", ip.dst, dport};
  if (ip.protocol == kProtoTcp) {
    // slirp opens a host connection only for a segment with SYN alone set (tcp_input: anything else
    // without a socket is dropped with a reset), so only those need a decision; the rest of an
    // admitted connection passes uncounted.
    if ((frame.ports->tcp_flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin)) != kTcpSyn)
      return pass({}, ip.dst, dport);
  }
  return admit(ip.protocol, ip.dst, dport, now);
}

Verdict EgressFilter::admit(uint8_t protocol, Ipv4 dst, uint16_t dport, Clock::time_point now) const {
  if (auto reason = forbidden_destination(dst); !reason.empty()) return drop(std::string(reason), dst, dport);
  // Anything else sent to the DNS address (TCP/53, other ports) would reach the host's resolver.
  if (dst == vnet_.dns) return drop("dns_bypass", dst, dport);
  bool host_loopback = vnet_.contains(dst);
  if (host_loopback && !policy_.allow_host_loopback) return drop("host_loopback", dst, dport);
  if (host_loopback && (dst == (vnet_.network | ~vnet_.netmask)))
    return drop("broadcast_reserved", dst, dport);
  switch (policy_.mode) {
    case EgressMode::deny_all:
      return drop("deny_all", dst, dport);
    case EgressMode::allow_all:
      return pass(flow_kind(protocol), dst, dport);
    case EgressMode::allowlist:
      break;
  }
  if (protocol == kProtoTcp || protocol == kProtoUdp) {
    if (dport == kDnsPort) return drop(protocol == kProtoTcp ? "dns_tcp" : "dns_bypass", dst, dport);
    if (dport == kDotPort) return drop("dot", dst, dport);
  }
  if (protocol != kProtoTcp) return drop(protocol == kProtoUdp ? "udp" : "protocol", dst, dport);
  if (!learned(dst, now)) return drop("raw_ip", dst, dport);
  if (!policy_.port_allowed(dport)) return drop("port", dst, dport);
  return pass("tcp_connect", dst, dport);
}

}  // namespace mcpvm::net
