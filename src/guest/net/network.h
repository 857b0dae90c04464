// The guest's network setup, called by the init (PID 1) after the rootfs is mounted when the VM config
// has a "network" object. Shape (docs/net.md; unknown fields are errors):
//   {
//     "interface": "eth0",                              // default "eth0"
//     "hostname": "my-server",                          // optional; sethostname + /etc/hosts
//     "hosts": [{"name": "api.test", "ip": "10.0.2.2"}],  // --add-host entries for /etc/hosts
//     "dhcp_timeout_ms": 15000,                         // one acquisition, with retries inside
//     "renew": true,                                    // renew the lease in a background thread
//     "address": "10.0.2.15/24",                        // static: no DHCP (the three go together)
//     "gateway": "10.0.2.2",
//     "dns": ["10.0.2.3"]
//   }
// Brings up lo and the interface, takes the static address or runs DHCP, sets address + default route
// over rtnetlink, writes /etc/resolv.conf and /etc/hosts (atomically, replacing symlinks rather than
// following them). The host sends the static form: it runs the user-mode network and knows the
// addresses, and the DHCP exchange cost ~30-40 ms of a TCG boot (docs/boot.md).
// Throws std::runtime_error with a one-line message on failure.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "guest/net/dhcp_client.h"

namespace mcpvm::guest::net {

struct HostsEntry {
  std::string name;
  std::string ip;
};

struct NetworkConfig {
  std::string interface = "eth0";
  std::string hostname;
  std::vector<HostsEntry> hosts;
  int dhcp_timeout_ms = 15000;
  bool renew = true;
  // Set when the config gives "address": the lease to apply instead of asking a DHCP server.
  std::optional<DhcpLease> static_lease;
};

NetworkConfig parse_network_config(const nlohmann::json& config);
std::string render_hosts(const NetworkConfig& config, const DhcpLease& lease);
std::string render_resolv_conf(const DhcpLease& lease);

void configure_network(const nlohmann::json& network_config);

// For tests and diagnostics: the lease in use and how many renewals succeeded.
std::optional<DhcpLease> current_lease();
int lease_renewals();

}  // namespace mcpvm::guest::net
