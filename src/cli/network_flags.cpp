#include "cli/network_flags.h"

#include <algorithm>
#include <bit>

#include "net/filter.h"
#include "net/packet.h"
#include "net/policy.h"
#include "util/error.h"
#include "util/log.h"

namespace mcpvm::cli {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

void add_network_flags(CLI::App& app, NetworkFlags& f) {
  app.add_option("-p,--publish", f.publish,
                 "Forward host port to guest port: [127.0.0.1:]HOST_PORT:GUEST_PORT");
  app.add_option("--permission-profile", f.permission_profile,
                 "ToolHive permission profile: none, network (default) or a JSON file");
  app.add_option("--allow-host", f.allow_host,
                 "Allow egress to this host (repeatable; *.example.com = subdomains)");
  app.add_option("--allow-port", f.allow_port, "Allow egress on this port to allowed hosts (repeatable)");
  app.add_option("--network", f.network, "\"none\": no network interface at all")
      ->check(CLI::IsMember({"none"}));
  app.add_option("--add-host", f.add_host, "Add NAME:IP to the guest's DNS and /etc/hosts (repeatable)");
  app.add_flag("--allow-host-loopback", f.allow_host_loopback,
               "Let the guest reach the host's 127.0.0.1 (as 10.0.2.2); denied by default");
}

net::PortForward parse_publish(const std::string& spec) {
  return with_context(fmt::format("-p {:?}", spec), [&] {
    std::string body = spec;
    if (auto slash = body.find('/'); slash != std::string::npos) {
      if (body.substr(slash + 1) != "tcp") fail("only TCP ports can be published");
      body.resize(slash);
    }
    auto parts = split(body, ':');
    net::PortForward f;
    if (parts.size() == 3) {
      auto address = net::parse_ipv4(parts[0]);
      if (!address || (*address >> 24) != 127)
        fail("the host address must be a loopback address (127.0.0.1): mcpvm never listens beyond this host");
      f.host_address = *address;
      parts.erase(parts.begin());
    }
    if (parts.size() != 2) fail("expected [127.0.0.1:]HOST_PORT:GUEST_PORT");
    f.host_port = net::parse_port(parts[0]);
    f.guest_port = net::parse_port(parts[1]);
    return f;
  });
}

net::HostEntry parse_add_host(const std::string& spec) {
  return with_context(fmt::format("--add-host {:?}", spec), [&] {
    auto colon = spec.rfind(':');
    if (colon == std::string::npos) fail("expected NAME:IP");
    std::string name = lower(spec.substr(0, colon));
    if (!name.empty() && name.back() == '.') name.pop_back();
    net::HostPattern::parse(name);  // same rules as an allowed host name (no wildcards here)
    if (name.find('*') != std::string::npos) fail("a host name, not a pattern");
    auto address = net::parse_ipv4(spec.substr(colon + 1));
    if (!address) fail("{:?} is not an IPv4 address (IPv6 is off in the guest)", spec.substr(colon + 1));
    return net::HostEntry{name, *address};
  });
}

NetworkSetup resolve_network_flags(const NetworkFlags& f, const std::string& hostname) {
  NetworkSetup setup;
  if (f.network == "none") {
    bool other = !f.publish.empty() || !f.allow_host.empty() || !f.allow_port.empty() ||
                 !f.add_host.empty() || f.allow_host_loopback ||
                 (!f.permission_profile.empty() && f.permission_profile != "none");
    if (other)
      fail(
          "--network none gives the VM no network interface: -p, --allow-host, --allow-port, --add-host, "
          "--allow-host-loopback and network permission profiles cannot apply");
    setup.summary = {{"network", "none"}};
    return setup;
  }
  bool explicit_profile = !f.permission_profile.empty();
  net::PermissionProfile profile =
      net::load_permission_profile(explicit_profile ? f.permission_profile : "network");
  setup.profile_read = profile.read;
  setup.profile_write = profile.write;
  // Ignoring a mount grant fails safe (the VM sees less of the host, never more), but the user must know.
  if (!profile.read.empty() || !profile.write.empty())
    log::warn(
        "permission profile {}: its read/write entries ({} paths) are not applied: mcpvm does not share host "
        "paths with VMs yet, so the server sees none of them",
        f.permission_profile, profile.read.size() + profile.write.size());
  net::EgressPolicy policy = profile.egress;
  if (!f.allow_host.empty() || !f.allow_port.empty()) {
    if (explicit_profile)
      fail(
          "--allow-host/--allow-port and --permission-profile {} both set the egress policy: use one of them",
          f.permission_profile);
    if (f.allow_host.empty())
      fail(
          "--allow-port without --allow-host would allow nothing (an allowlist with no hosts denies all "
          "egress)");
    std::vector<uint16_t> ports;
    for (const auto& p : f.allow_port)
      ports.push_back(with_context("--allow-port", [&] { return net::parse_port(p); }));
    policy = net::EgressPolicy::allowlist(f.allow_host, ports);
  }
  policy.allow_host_loopback = f.allow_host_loopback;
  if (f.allow_host_loopback && policy.mode == net::EgressMode::deny_all)
    fail(
        "--allow-host-loopback has no effect under a deny-all policy (permission profile none or an empty "
        "allowlist)");

  net::UserNetworkConfig config;
  config.policy = policy;
  nlohmann::json forwards = nlohmann::json::array();
  for (const auto& spec : f.publish) {
    auto forward = parse_publish(spec);
    for (const auto& existing : config.forwards)
      if (existing.host_port == forward.host_port)
        fail("-p {:?}: host port {} is published twice", spec, forward.host_port);
    config.forwards.push_back(forward);
    forwards.push_back(
        {{"host", fmt::format("{}:{}", net::format_ipv4(forward.host_address), forward.host_port)},
         {"guest_port", forward.guest_port}});
  }
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& spec : f.add_host) {
    auto entry = parse_add_host(spec);
    config.hosts.push_back(entry);
    hosts.push_back({{"name", entry.name}, {"ip", net::format_ipv4(entry.address)}});
  }
  setup.user_network = config;
  // The addresses slirp serves, given statically: the guest skips the DHCP exchange (docs/net.md).
  const net::VirtualNetwork vnet;
  setup.guest_network = {{"interface", "eth0"},
                         {"hosts", hosts},
                         {"address", fmt::format("{}/{}", net::format_ipv4(vnet.guest), std::popcount(vnet.netmask))},
                         {"gateway", net::format_ipv4(vnet.gateway)},
                         {"dns", {net::format_ipv4(vnet.dns)}}};
  if (!hostname.empty()) setup.guest_network["hostname"] = hostname;
  setup.summary = {
      {"network", "user"}, {"egress", policy.to_json()}, {"publish", forwards}, {"add_host", hosts}};
  return setup;
}

}  // namespace mcpvm::cli
