// `mcpvm run`'s network flags and what they turn into: the runner's UserNetwork configuration and the
// guest's "network" JSON (see guest/net/network.h and docs/net.md).
//
//   -p/--publish [127.0.0.1:]HOST_PORT:GUEST_PORT[/tcp]   host 127.0.0.1:HOST_PORT -> guest GUEST_PORT
//   --permission-profile none|network|FILE                ToolHive profile; default "network"
//   --allow-host NAME (repeatable, "*.x.y" wildcards)     egress allowlist (narrows the profile)
//   --allow-port PORT (repeatable)                        ports for the allowlisted hosts
//   --network none                                        no NIC at all
//   --add-host NAME:IP (repeatable)                       answered by our DNS and in the guest's /etc/hosts
//   --allow-host-loopback                                 let the guest reach the host's 127.0.0.1 (10.0.2.2)
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "net/user_network.h"

namespace mcpvm::cli {

struct NetworkFlags {
  std::vector<std::string> publish;
  std::string permission_profile;  // empty: "network"
  std::vector<std::string> allow_host;
  std::vector<std::string> allow_port;
  std::string network;  // empty or "none"
  std::vector<std::string> add_host;
  bool allow_host_loopback = false;
};

void add_network_flags(CLI::App& app, NetworkFlags& flags);

struct NetworkSetup {
  // Empty for --network none: start no UserNetwork, give the VM no NIC, no "network" in the guest config.
  std::optional<net::UserNetworkConfig> user_network;
  nlohmann::json guest_network;  // the VM config's "network" object (null when there is no NIC)
  std::vector<std::string> profile_read, profile_write;  // the profile's mounts, for the caller to honour
  nlohmann::json summary;                                // policy + forwards, for `inspect`
};

// Validates the flags together (throws Error with a one-line message for anything that could not be
// enforced as written) and builds the setup. hostname: the guest's, may be empty.
NetworkSetup resolve_network_flags(const NetworkFlags& flags, const std::string& hostname = {});

// "[127.0.0.1:]8080:80[/tcp]" -> forward. Only loopback host addresses are accepted.
net::PortForward parse_publish(const std::string& spec);
// "name:1.2.3.4" -> entry.
net::HostEntry parse_add_host(const std::string& spec);

}  // namespace mcpvm::cli
