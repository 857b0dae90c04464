#include "net/filter.h"

#include <algorithm>
#include <iterator>

namespace mcpvm::net {
namespace {

constexpr uint16_t kDnsPort = 53, kDotPort = 853, kDhcpServerPort = 67;
// Cloud metadata services outside 169.254/16: they hand out credentials and instance secrets to
// whoever asks from the VM's host, so no opt-in reaches them.
constexpr Ipv4 kAlibabaMetadata = 0x646464c8;  // 100.100.100.200
constexpr Ipv4 kAzureWireServer = 0xa83f8110;  // 168.63.129.16

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

Verdict pass_new_flow(uint8_t protocol, Ipv4 dst, uint16_t port) {
  return {Action::pass, flow_kind(protocol), dst, port, true};
}

}  // namespace

std::string_view forbidden_destination(Ipv4 dst) {
  if (in_prefix(dst, 0x7f000000, 8)) return "loopback";
  if (in_prefix(dst, 0x00000000, 8)) return "unspecified";
  if (in_prefix(dst, 0xa9fe0000, 16)) return "link_local_metadata";
  if (dst == kAlibabaMetadata || dst == kAzureWireServer) return "cloud_metadata";
  if (in_prefix(dst, 0xe0000000, 4)) return "multicast";
  if (in_prefix(dst, 0xf0000000, 4)) return "broadcast_reserved";
  return {};
}

std::string_view private_destination(Ipv4 dst, const std::vector<Ipv4>& host_addresses) {
  bool rfc1918 =
      in_prefix(dst, 0x0a000000, 8) || in_prefix(dst, 0xac100000, 12) || in_prefix(dst, 0xc0a80000, 16);
  bool carrier_nat = in_prefix(dst, 0x64400000, 10);  // RFC 6598: the provider's side of a CGNAT
  if (rfc1918 || carrier_nat) return "private_network";
  // The host's own addresses reach every host service bound to 0.0.0.0, public address or not.
  if (std::find(host_addresses.begin(), host_addresses.end(), dst) != host_addresses.end())
    return "host_address";
  return {};
}

EgressFilter::EgressFilter(EgressPolicy policy, VirtualNetwork vnet, std::vector<Ipv4> host_addresses)
    : policy_(std::move(policy)), vnet_(vnet), host_addresses_(std::move(host_addresses)) {}

void EgressFilter::learn(Ipv4 address, Clock::time_point expiry) {
  // Only an allowlist admits by learned address; elsewhere learning would only grow the table.
  if (policy_.mode != EgressMode::allowlist) return;
  auto [entry, added] = learned_.try_emplace(address, expiry);
  if (!added) {
    entry->second = std::max(entry->second, expiry);
    return;
  }
  if (learned_.size() > kMaxLearnedAddresses) forget_oldest();
}

void EgressFilter::forget_oldest() {
  // Every answer admits for the same time, so the earliest expiry is the least recently answered.
  auto oldest = std::min_element(learned_.begin(), learned_.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
  learned_.erase(oldest);
}

bool EgressFilter::learned(Ipv4 address, Clock::time_point now) const {
  if (declared_.contains(address)) return true;
  auto it = learned_.find(address);
  return it != learned_.end() && it->second > now;
}

void EgressFilter::forget_expired(Clock::time_point now) {
  std::erase_if(learned_, [&](const auto& e) { return e.second <= now; });
}

void EgressFilter::admit_declared(Ipv4 address) {
  declared_.insert(address);
}

std::vector<Ipv4> EgressFilter::relayable(const std::vector<Ipv4>& answer) const {
  std::vector<Ipv4> reachable;
  std::copy_if(answer.begin(), answer.end(), std::back_inserter(reachable),
               [&](Ipv4 a) { return destination_denied(a).empty(); });
  return reachable;
}

std::string_view EgressFilter::destination_denied(Ipv4 dst) const {
  if (auto reason = forbidden_destination(dst); !reason.empty()) return reason;
  // Anything else sent to the DNS address (TCP/53, other ports) would reach the host's resolver.
  if (dst == vnet_.dns) return "dns_bypass";
  if (vnet_.contains(dst)) {  // slirp's aliases of the host's 127.0.0.1: their own opt-in
    if (!policy_.allow_host_loopback) return "host_loopback";
    return dst == (vnet_.network | ~vnet_.netmask) ? "broadcast_reserved" : "";
  }
  if (policy_.allow_private_network || declared_.contains(dst)) return {};
  return private_destination(dst, host_addresses_);
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
  if (auto reason = destination_denied(dst); !reason.empty()) return drop(std::string(reason), dst, dport);
  switch (policy_.mode) {
    case EgressMode::deny_all:
      return drop("deny_all", dst, dport);
    case EgressMode::allow_all:
      return pass_new_flow(protocol, dst, dport);
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
  return pass_new_flow(protocol, dst, dport);
}

}  // namespace mcpvm::net
