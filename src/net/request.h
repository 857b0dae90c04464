// NetworkRequest: what a VM asked of its network, typed. `run` builds it once from its flags
// (build_network_request below; a permission-profile file is read and validated then, never again), it
// is saved in the VM's config.json, and the runner turns it into a UserNetwork at every boot
// (user_network_config) and into the guest's addressing (guest_network_config).
//
// The flags, as `run` spells them (docs/net.md):
//   -p/--publish [127.0.0.1:]HOST_PORT:GUEST_PORT[/tcp]   host 127.0.0.1:HOST_PORT -> guest GUEST_PORT
//   --permission-profile none|network|FILE                ToolHive profile; default "network"
//   --allow-host NAME (repeatable, "*.x.y" wildcards)     egress allowlist (narrows the profile)
//   --allow-port PORT (repeatable)                        ports for the allowlisted hosts
//   --network none                                        no NIC at all
//   --add-host NAME:IP (repeatable)                       answered by our DNS and in the guest's /etc/hosts
//   --allow-host-loopback                                 let the guest reach the host's 127.0.0.1 (10.0.2.2)
//   --allow-private-network                               let the guest reach RFC 1918/100.64 networks and
//                                                         the host's own addresses (denied by default)
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "net/policy.h"
#include "net/user_network.h"

namespace mcpvm::net {

struct NetworkRequest {
  bool enabled = true;  // false: --network none (no NIC, no stack)
  EgressPolicy egress = EgressPolicy::allow_all();
  std::vector<PortForward> forwards;  // -p
  std::vector<HostEntry> hosts;       // --add-host
};

nlohmann::json to_json(const NetworkRequest& request);
// Strict: unknown keys and wrong types are errors naming the key (path: where the object sits).
NetworkRequest network_request_from_json(const nlohmann::json& j, const std::string& path = "network");

// `run`'s network flags as text, before validation.
struct NetworkFlags {
  std::vector<std::string> publish;
  std::string permission_profile;  // empty: profile_document if set, else "network"
  // A permission profile given as a document (a registry entry's, registry/entry.h); used only when
  // permission_profile is empty. --allow-host/--allow-port replace its egress, as they do the default's.
  nlohmann::json profile_document;
  std::vector<std::string> allow_host;
  std::vector<std::string> allow_port;
  std::string network;  // empty or "none"
  std::vector<std::string> add_host;
  bool allow_host_loopback = false;
  bool allow_private_network = false;
};

// Validates the flags together (throws Error with a one-line message for anything that could not be
// enforced as written) and builds the request. Reads the permission profile when it names a file.
NetworkRequest build_network_request(const NetworkFlags& flags);

// "[127.0.0.1:]8080:80[/tcp]" -> forward. Only loopback host addresses are accepted.
PortForward parse_publish(const std::string& spec);
// "name:1.2.3.4" -> entry.
HostEntry parse_add_host(const std::string& spec);

// The UserNetwork of one boot: the request's policy, forwards and hosts, plus `extra_forwards` the
// runner adds (the loopback port of an HTTP server's endpoint).
UserNetworkConfig user_network_config(const NetworkRequest& request,
                                      const std::vector<PortForward>& extra_forwards = {});

// The guest's "network" object of its config (guest/net/network.h): static address, gateway and DNS as
// slirp serves them (so the guest skips DHCP), extra hosts, hostname. null when the VM has no NIC.
nlohmann::json guest_network_config(const NetworkRequest& request, const std::string& hostname);

// Policy and forwards as `inspect` shows them (DIR/network.json "summary").
nlohmann::json network_summary(const NetworkRequest& request);

}  // namespace mcpvm::net
