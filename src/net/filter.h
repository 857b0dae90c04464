// The egress filter: decides, for every frame the guest sends, whether slirp may see it.
// Pure logic over parsed frames (no sockets), so every rule is unit-tested directly.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "net/packet.h"
#include "net/policy.h"

namespace mcpvm::net {

// slirp's default virtual network, which UserNetwork configures.
struct VirtualNetwork {
  Ipv4 network = 0x0a000200;  // 10.0.2.0/24
  Ipv4 netmask = 0xffffff00;
  Ipv4 gateway = 0x0a000202;  // 10.0.2.2: slirp maps it (and the rest of the /24) to the host's 127.0.0.1
  Ipv4 dns = 0x0a000203;      // 10.0.2.3: answered by us
  Ipv4 guest = 0x0a00020f;    // 10.0.2.15: first DHCP address
  bool contains(Ipv4 a) const { return (a & netmask) == network; }
};

using Clock = std::chrono::steady_clock;

enum class Action { pass, drop, answer_dns };

struct Verdict {
  Action action = Action::drop;
  // Counter key: for drops the deny reason ("raw_ip", "port", "dns_tcp", ...), for passes the kind
  // ("tcp_connect", "udp", ...); empty for frames not worth counting (TCP segments of a connection).
  std::string reason;
  Ipv4 dst = 0;
  uint16_t dst_port = 0;
  bool opens_flow = false;  // a pass that may make slirp open a host socket (SYN, UDP, ICMP)
};

// Most addresses an allowlist learns at once: far above what a guest talking to a few services needs,
// low enough that a guest resolving name after name cannot grow the table (and each lookup) without bound.
constexpr size_t kMaxLearnedAddresses = 4096;

class EgressFilter {
 public:
  // host_addresses: the host's own interface addresses, denied like private networks.
  EgressFilter(EgressPolicy policy, VirtualNetwork vnet, std::vector<Ipv4> host_addresses = {});

  Verdict inspect(const Frame& frame, Clock::time_point now) const;

  // An address the guest learned from one of our DNS answers for an allowed name. Only an allowlist
  // learns; beyond kMaxLearnedAddresses the least recently answered address is forgotten.
  void learn(Ipv4 address, Clock::time_point expiry);
  bool learned(Ipv4 address, Clock::time_point now) const;
  size_t learned_count() const { return learned_.size(); }
  void forget_expired(Clock::time_point now);
  // The address of a --add-host entry whose name the policy allows.
  void admit_declared(Ipv4 address);
  // The addresses of a host-resolved DNS answer the guest may be told.
  std::vector<Ipv4> relayable(const std::vector<Ipv4>& answer) const;

  const EgressPolicy& policy() const { return policy_; }
  const VirtualNetwork& vnet() const { return vnet_; }

 private:
  Verdict inspect_ipv4(const Frame& frame, Clock::time_point now) const;
  void forget_oldest();
  // Why dst is unreachable whatever the protocol, port or learned names; empty if it is reachable.
  std::string_view destination_denied(Ipv4 dst) const;
  // Rule for the first packet of a flow (TCP SYN, UDP datagram, ICMP) to dst.
  Verdict admit(uint8_t protocol, Ipv4 dst, uint16_t dst_port, Clock::time_point now) const;

  EgressPolicy policy_;
  VirtualNetwork vnet_;
  std::vector<Ipv4> host_addresses_;
  std::map<Ipv4, Clock::time_point> learned_;
  std::set<Ipv4> declared_;  // --add-host addresses: admitted for the VM's lifetime, private or not
};

// Destinations that are never reachable whatever the policy: 0/8, 127/8, 169.254/16 (link-local and
// cloud metadata), 100.100.100.200 (Alibaba metadata), 168.63.129.16 (Azure wire server), multicast
// 224/4, reserved 240/4, broadcast.
// Returns the deny reason or empty.
std::string_view forbidden_destination(Ipv4 dst);

// Private networks and the host itself, reachable only with allow_private_network: RFC 1918
// (private_network), RFC 6598 carrier-grade NAT 100.64/10 (private_network), and the host's own interface
// addresses (host_address). Returns the deny reason or empty. IPv6 (ULA fc00::/7 included) is off.
std::string_view private_destination(Ipv4 dst, const std::vector<Ipv4>& host_addresses);

}  // namespace mcpvm::net
