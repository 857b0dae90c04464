// The guest's network setup, called by the init (PID 1) after the rootfs is mounted when the VM config
// has a "network" object. Shape (docs/net.md; unknown fields are errors):
//   {
//     "interface": "eth0",                              // default "eth0"
//     "hostname": "my-server",                          // optional; sethostname + /etc/hosts
//     "hosts": [{"name": "api.test", "ip": "10.0.2.2"}],  // --add-host entries for /etc/hosts
//     "dhcp_timeout_ms": 15000,                         // one acquisition, with retries inside
//     "renew": true                                     // renew the lease in a background thread
//   }
// Brings up lo and the interface, runs DHCP, sets address + default route over rtnetlink, writes
// /etc/resolv.conf and /etc/hosts (atomically, replacing symlinks rather than following them).
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
};

NetworkConfig parse_network_config(const nlohmann::json& config);
std::string render_hosts(const NetworkConfig& config, const DhcpLease& lease);
std::string render_resolv_conf(const DhcpLease& lease);

void configure_network(const nlohmann::json& network_config);

// For tests and diagnostics: the lease in use and how many renewals succeeded.
std::optional<DhcpLease> current_lease();
int lease_renewals();

}  // namespace mcpvm::guest::net
