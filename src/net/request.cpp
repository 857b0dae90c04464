#include "net/request.h"

#include <algorithm>
#include <bit>

#include "net/packet.h"
#include "util/error.h"
#include "util/json_fields.h"
#include "util/port.h"

namespace mcpvm::net {
namespace {

using nlohmann::json;

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

Ipv4 ipv4_field(JsonFields& f, const char* key) {
  auto text = f.required<std::string>(key);
  auto address = parse_ipv4(text);
  if (!address) fail("{}: {:?} is not an IPv4 address", f.key_path(key), text);
  return *address;
}

json egress_to_json(const EgressPolicy& p) {
  json hosts = json::array();
  for (const auto& h : p.hosts) hosts.push_back(h.text());
  return {{"mode", to_string(p.mode)},
          {"hosts", hosts},
          {"ports", p.ports},
          {"allow_host_loopback", p.allow_host_loopback},
          {"allow_private_network", p.allow_private_network}};
}

EgressPolicy egress_from_json(JsonFields f) {
  auto mode = f.required<std::string>("mode");
  auto hosts = f.get<std::vector<std::string>>("hosts", {});
  std::vector<uint16_t> ports;
  for (const auto& p : f.array("ports")) {
    if (!p.is_number_unsigned() || p.get<uint64_t>() < 1 || p.get<uint64_t>() > 65535)
      fail("{}: {} is not a port number (1-65535)", f.key_path("ports"), p.dump());
    ports.push_back(uint16_t(p.get<uint64_t>()));
  }
  EgressPolicy policy;
  if (mode == "allow-all") {
    policy = EgressPolicy::allow_all();
  } else if (mode == "deny-all") {
    policy = EgressPolicy::deny_all();
  } else if (mode == "allowlist") {
    if (hosts.empty()) fail("{}: an allowlist names at least one host", f.key_path("hosts"));
    policy = with_context(f.key_path("hosts"), [&] { return EgressPolicy::allowlist(hosts, ports); });
  } else {
    fail("{}: unknown mode {:?}", f.key_path("mode"), mode);
  }
  if (policy.mode != EgressMode::allowlist && (!hosts.empty() || !ports.empty()))
    fail("{}: hosts and ports belong to an allowlist only", f.key_path("mode"));
  policy.allow_host_loopback = f.get<bool>("allow_host_loopback", false);
  policy.allow_private_network = f.get<bool>("allow_private_network", false);
  f.finish();
  return policy;
}

}  // namespace

json to_json(const NetworkRequest& r) {
  json forwards = json::array();
  for (const auto& fw : r.forwards)
    forwards.push_back({{"host_address", format_ipv4(fw.host_address)},
                        {"host_port", fw.host_port},
                        {"guest_port", fw.guest_port}});
  json hosts = json::array();
  for (const auto& h : r.hosts) hosts.push_back({{"name", h.name}, {"address", format_ipv4(h.address)}});
  return {
      {"enabled", r.enabled}, {"egress", egress_to_json(r.egress)}, {"forwards", forwards}, {"hosts", hosts}};
}

NetworkRequest network_request_from_json(const json& j, const std::string& path) {
  JsonFields f(j, path);
  NetworkRequest r;
  r.enabled = f.required<bool>("enabled");
  r.egress = egress_from_json(f.object("egress"));
  for (const auto& item : f.array("forwards")) {
    JsonFields fw(item, f.key_path("forwards[]"));
    PortForward forward;
    forward.host_address = ipv4_field(fw, "host_address");
    forward.host_port = fw.required<uint16_t>("host_port");
    forward.guest_port = fw.required<uint16_t>("guest_port");
    fw.finish();
    if ((forward.host_address >> 24) != 127 || !forward.host_port || !forward.guest_port)
      fail("{}: a forward needs a loopback host address and ports 1-65535", f.key_path("forwards"));
    r.forwards.push_back(forward);
  }
  for (const auto& item : f.array("hosts")) {
    JsonFields h(item, f.key_path("hosts[]"));
    HostEntry entry{h.required<std::string>("name"), ipv4_field(h, "address")};
    h.finish();
    r.hosts.push_back(std::move(entry));
  }
  f.finish();
  if (!r.enabled && (!r.forwards.empty() || !r.hosts.empty()))
    fail("{}: a disabled network has no forwards or hosts", path);
  return r;
}

PortForward parse_publish(const std::string& spec) {
  return with_context(fmt::format("-p {:?}", spec), [&] {
    std::string body = spec;
    if (auto slash = body.find('/'); slash != std::string::npos) {
      if (body.substr(slash + 1) != "tcp") fail("only TCP ports can be published");
      body.resize(slash);
    }
    auto parts = split(body, ':');
    PortForward f;
    if (parts.size() == 3) {
      auto address = parse_ipv4(parts[0]);
      if (!address || (*address >> 24) != 127)
        fail("the host address must be a loopback address (127.0.0.1): mcpvm never listens beyond this host");
      f.host_address = *address;
      parts.erase(parts.begin());
    }
    if (parts.size() != 2) fail("expected [127.0.0.1:]HOST_PORT:GUEST_PORT");
    f.host_port = parse_port(parts[0]);
    f.guest_port = parse_port(parts[1]);
    return f;
  });
}

HostEntry parse_add_host(const std::string& spec) {
  return with_context(fmt::format("--add-host {:?}", spec), [&] {
    auto colon = spec.rfind(':');
    if (colon == std::string::npos) fail("expected NAME:IP");
    std::string name = lower(spec.substr(0, colon));
    if (!name.empty() && name.back() == '.') name.pop_back();
    HostPattern::parse(name);  // same rules as an allowed host name (no wildcards here)
    if (name.find('*') != std::string::npos) fail("a host name, not a pattern");
    auto address = parse_ipv4(spec.substr(colon + 1));
    if (!address) fail("{:?} is not an IPv4 address (IPv6 is off in the guest)", spec.substr(colon + 1));
    return HostEntry{name, *address};
  });
}

namespace {

void refuse_flags_without_network(const NetworkFlags& f) {
  bool other = !f.publish.empty() || !f.allow_host.empty() || !f.allow_port.empty() || !f.add_host.empty() ||
               f.allow_host_loopback || f.allow_private_network ||
               (!f.permission_profile.empty() && f.permission_profile != "none");
  if (other)
    fail(
        "--network none gives the VM no network interface: -p, --allow-host, --allow-port, --add-host, "
        "--allow-host-loopback, --allow-private-network and network permission profiles cannot apply");
}

EgressPolicy egress_from_flags(const NetworkFlags& f) {
  bool explicit_profile = !f.permission_profile.empty();
  PermissionProfile profile =
      explicit_profile || f.profile_document.is_null()
          ? load_permission_profile(explicit_profile ? f.permission_profile : "network")
          : with_context("the registry entry's permissions",
                         [&] { return parse_permission_profile(f.profile_document); });
  // Its read/write entries are volumes: runner/volumes.h turns them into mounts.
  EgressPolicy policy = profile.egress;
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
      ports.push_back(with_context("--allow-port", [&] { return parse_port(p); }));
    policy = EgressPolicy::allowlist(f.allow_host, ports);
  }
  policy.allow_host_loopback = f.allow_host_loopback;
  policy.allow_private_network = policy.allow_private_network || f.allow_private_network;
  if (policy.mode == EgressMode::deny_all && (f.allow_host_loopback || f.allow_private_network))
    fail(
        "--allow-host-loopback and --allow-private-network have no effect under a deny-all policy "
        "(permission profile none or an empty allowlist)");
  return policy;
}

}  // namespace

NetworkRequest build_network_request(const NetworkFlags& f) {
  NetworkRequest r;
  if (f.network == "none") {
    refuse_flags_without_network(f);
    r.enabled = false;
    r.egress = EgressPolicy::deny_all();
    return r;
  }
  if (!f.network.empty()) fail("--network {:?}: the only accepted value is \"none\"", f.network);
  r.egress = egress_from_flags(f);
  for (const auto& spec : f.publish) {
    auto forward = parse_publish(spec);
    for (const auto& existing : r.forwards)
      if (existing.host_port == forward.host_port)
        fail("-p {:?}: host port {} is published twice", spec, forward.host_port);
    r.forwards.push_back(forward);
  }
  for (const auto& spec : f.add_host) r.hosts.push_back(parse_add_host(spec));
  return r;
}

UserNetworkConfig user_network_config(const NetworkRequest& r,
                                      const std::vector<PortForward>& extra_forwards) {
  if (!r.enabled) fail("the VM was created without a network (--network none)");
  UserNetworkConfig config;
  config.policy = r.egress;
  config.forwards = r.forwards;
  config.forwards.insert(config.forwards.end(), extra_forwards.begin(), extra_forwards.end());
  config.hosts = r.hosts;
  return config;
}

json guest_network_config(const NetworkRequest& r, const std::string& hostname) {
  if (!r.enabled) return nullptr;
  json hosts = json::array();
  // /etc/hosts names only what the policy lets the guest resolve: a denied --add-host name is NXDOMAIN in
  // our DNS and must not resolve from the file either.
  for (const auto& h : r.hosts)
    if (r.egress.host_allowed(h.name)) hosts.push_back({{"name", h.name}, {"ip", format_ipv4(h.address)}});
  const VirtualNetwork vnet;
  json guest = {{"interface", "eth0"},
                {"hosts", hosts},
                {"address", fmt::format("{}/{}", format_ipv4(vnet.guest), std::popcount(vnet.netmask))},
                {"gateway", format_ipv4(vnet.gateway)},
                {"dns", {format_ipv4(vnet.dns)}}};
  if (!hostname.empty()) guest["hostname"] = hostname;
  return guest;
}

json network_summary(const NetworkRequest& r) {
  if (!r.enabled) return {{"network", "none"}};
  json forwards = json::array();
  for (const auto& f : r.forwards)
    forwards.push_back({{"host", fmt::format("{}:{}", format_ipv4(f.host_address), f.host_port)},
                        {"guest_port", f.guest_port}});
  json hosts = json::array();
  for (const auto& h : r.hosts) hosts.push_back({{"name", h.name}, {"ip", format_ipv4(h.address)}});
  return {{"network", "user"}, {"egress", r.egress.to_json()}, {"publish", forwards}, {"add_host", hosts}};
}

}  // namespace mcpvm::net
