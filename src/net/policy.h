// Egress policy: what a guest may reach. Built from --allow-host/--allow-port/--permission-profile and
// enforced frame by frame by UserNetwork.
//
// Decisions (docs/net.md):
//  - `*.example.com` matches names below example.com at any depth, NOT example.com itself (list the
//    apex separately). `*`, `*.com`, `*.co.uk` (a wildcard over a public suffix), wildcards not in the
//    first label, and IP literals are rejected: an allowlist names hosts.
//  - An allowlist with no hosts is deny-all. Ports restrict allowed hosts; no ports = any port.
//  - Host loopback (slirp's 10.0.2.0/24 aliases of the host's 127.0.0.1) is denied in every mode unless
//    allow_host_loopback; private networks and the host's own addresses unless allow_private_network;
//    127/8, 0/8, link-local 169.254/16 (cloud metadata), 100.100.100.200, 168.63.129.16, multicast and
//    broadcast destinations are always denied.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::net {

enum class EgressMode { allow_all, deny_all, allowlist };
std::string_view to_string(EgressMode mode);

class HostPattern {
 public:
  // Throws Error naming the pattern and why it is refused.
  static HostPattern parse(std::string_view text);
  // name: lowercase, no trailing dot.
  bool matches(std::string_view name) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;  // normalized: lowercase, no trailing dot
  bool wildcard_ = false;
  std::string suffix_;  // for wildcards: ".example.com"
};

struct EgressPolicy {
  EgressMode mode = EgressMode::allow_all;
  std::vector<HostPattern> hosts;  // allowlist only
  std::vector<uint16_t> ports;     // allowlist only; empty = any port
  bool allow_host_loopback = false;
  // Lets flows reach private networks and the host's own addresses (see private_destination in
  // filter.h): off by default in every mode, so neither allow-all nor a hostile DNS answer for an
  // allowed name reaches the LAN.
  bool allow_private_network = false;

  static EgressPolicy allow_all();
  static EgressPolicy deny_all();
  // Empty hosts => deny_all (an empty allowlist never means "everything").
  static EgressPolicy allowlist(const std::vector<std::string>& hosts, const std::vector<uint16_t>& ports);

  bool host_allowed(std::string_view name) const;
  bool port_allowed(uint16_t port) const;
  nlohmann::json to_json() const;
};

// ToolHive's permission profile (https://docs.stacklok.com/toolhive): `none`, `network`, or a JSON file
// {"read":[...], "write":[...], "network":{"outbound":{"insecure_allow_all":bool,"allow_host":[...],
// "allow_port":[...], "allow_private_network":bool}}}. Strict: unknown fields and wrong types are errors.
// allow_private_network is ours (ToolHive has no such key); it needs insecure_allow_all or allow_host.
struct PermissionProfile {
  std::vector<std::string> read;  // mounts; not the network's business, passed on to the caller
  std::vector<std::string> write;
  EgressPolicy egress;
};
PermissionProfile parse_permission_profile(const nlohmann::json& profile);
// "none" | "network" | path to a JSON file.
PermissionProfile load_permission_profile(const std::string& name_or_path);

}  // namespace mcpvm::net
