// UserNetwork: the guest's network. A libslirp stack on its own thread, connected to QEMU over a
// socketpair (QEMU gets the other end: `-netdev socket,id=net0,fd=N`, 4-byte length-prefixed frames).
// Every guest frame passes the EgressFilter before slirp sees it; the guest's DNS queries to 10.0.2.3
// are answered here (policy + --add-host + host resolution), never forwarded.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/filter.h"
#include "net/policy.h"
#include "util/fd.h"

namespace mcpvm::net {

struct PortForward {
  Ipv4 host_address = 0x7f000001;  // 127.0.0.1
  uint16_t host_port = 0;
  uint16_t guest_port = 0;
  // When set, the forward listens on this Unix socket instead of host_address:host_port: only processes
  // that can reach the path (the runner, in the VM's 0700 directory) can connect. A stale socket there is
  // replaced.
  std::string host_unix_path;
};

struct HostEntry {
  std::string name;  // lowercase
  Ipv4 address = 0;
};

// Most host sockets slirp may hold for one guest at once (its TCP connections, UDP and ICMP flows, and
// port-forwarded connections): each is a file descriptor of the runner, and a guest looping on connect()
// must not exhaust them. Half the usual 1024 soft limit on open files leaves the runner its own fds;
// far above what an MCP server keeps open, and room for churn: slirp keeps a socket 10 s in TIME_WAIT
// when the remote side closed first, so ~50 such connections a second are sustained at the cap.
constexpr size_t kMaxGuestFlows = 512;

struct UserNetworkConfig {
  EgressPolicy policy;
  std::vector<PortForward> forwards;
  std::vector<HostEntry> hosts;  // --add-host: answered by our DNS (still subject to the policy)
  uint32_t dns_answer_ttl = 60;  // TTL in our answers
  // How long an address from an answer stays admitted: max(answer TTL, this) so guests that cache a
  // little past the TTL keep working, bounded so a stale cache does not keep a door open forever.
  std::chrono::seconds admission_ttl{600};
  // Rewrites the lease time in slirp's DHCP replies (slirp always says 24h); 0 keeps slirp's. Tests
  // use a few seconds to watch the guest renew.
  uint32_t dhcp_lease_seconds = 0;
  size_t max_guest_flows = kMaxGuestFlows;  // tests use a few
};

struct NetworkCounters {
  std::map<std::string, uint64_t> allowed;
  std::map<std::string, uint64_t> denied;
  nlohmann::json to_json() const;
};

// The flows in a slirp_connection_info() listing: one line per host socket ("  TCP[ESTABLISHED] 12 ...",
// "  UDP[236 sec] ...", "  ICMP[...] ..."), not counting the header or the port forwards' listeners
// ("[HOST_FORWARD]"). libslirp has no other way to tell how many sockets it holds.
size_t count_slirp_flows(std::string_view connection_info);

class UserNetwork {
 public:
  // Throws Error if the stack cannot be set up as asked (a port forward that cannot bind, ...).
  explicit UserNetwork(UserNetworkConfig config);
  ~UserNetwork();
  UserNetwork(const UserNetwork&) = delete;
  UserNetwork& operator=(const UserNetwork&) = delete;

  // The socket end for QEMU (pass it as -netdev socket,fd=N). Call once; the caller owns it.
  UniqueFd take_guest_fd();
  NetworkCounters counters() const;
  const VirtualNetwork& vnet() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcpvm::net
