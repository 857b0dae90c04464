#include "guest/net/network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "guest/net/netlink.h"

namespace mcpvm::guest::net {
namespace {

std::mutex g_mutex;
std::optional<DhcpLease> g_lease;
std::atomic<int> g_renewals{0};

[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error(message);
}

void reject_unknown(const nlohmann::json& j, std::initializer_list<const char*> known,
                    const std::string& where) {
  if (!j.is_object()) fail(where + ": expected an object, got " + j.type_name());
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) fail(where + ": unknown field \"" + key + "\"");
  }
}

template <typename T>
T field(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.contains(key)) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(std::string("network config: \"") + key + "\" has the wrong type (" + j.at(key).type_name() + ")");
  }
}

bool valid_hostname(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
  return name.front() != '-' && name.front() != '.';
}

// Writes path atomically: a temporary file in the same directory, then rename() over the target, which
// replaces a symlink instead of following it (an image's /etc/resolv.conf is often one).
void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".mcpvm-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail("writing " + path + ": " + std::strerror(errno));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    ::unlink(tmp.c_str());
    fail("writing " + path + ": " + std::strerror(saved));
  }
}

int wait_for_interface(const std::string& name, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (int index = static_cast<int>(if_nametoindex(name.c_str())); index != 0) return index;
    if (std::chrono::steady_clock::now() > deadline)
      fail("network: interface " + name + " did not appear (is the virtio_net module loaded?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The host side carries no IPv6 (slirp has it off, the egress filter drops every IPv6 frame), so the
// interface should not spend boot time on router solicitations, MLD reports and duplicate address
// detection that can only be dropped. lo keeps ::1. A kernel without IPv6 has no such file: nothing to do.
void disable_ipv6_on(const std::string& interface) {
  std::string path = "/proc/sys/net/ipv6/conf/" + interface + "/disable_ipv6";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  [[maybe_unused]] auto n = ::write(fd, "1", 1);
  ::close(fd);
}

void apply_lease(int ifindex, const DhcpLease& lease) {
  add_address(ifindex, lease.address, lease.prefix);
  if (lease.router != 0) set_default_route(ifindex, lease.router);
}

void renewal_loop(NetworkConfig config, DhcpLease lease) {
  DhcpOptions options;
  options.hostname = config.hostname;
  options.timeout = std::chrono::milliseconds(config.dhcp_timeout_ms);
  auto bound_at = std::chrono::steady_clock::now();
  while (true) {
    std::this_thread::sleep_for(std::chrono::seconds(std::max<uint32_t>(lease.renewal_seconds, 1)));
    try {
      DhcpClient client(config.interface, options);
      try {
        lease = client.renew(lease);
      } catch (const std::exception& e) {
        // Lost the lease (NAK, or no answer until expiry): start over and re-apply what we get.
        if (std::chrono::steady_clock::now() - bound_at < std::chrono::seconds(lease.lease_seconds)) {
          std::fprintf(stderr, "mcpvm-init: %s; retrying\n", e.what());
          lease.renewal_seconds = std::max<uint32_t>(lease.renewal_seconds / 2, 1);
          continue;
        }
        lease = client.acquire();
      }
      apply_lease(client.ifindex(), lease);
      bound_at = std::chrono::steady_clock::now();
      ++g_renewals;
      std::lock_guard lock(g_mutex);
      g_lease = lease;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mcpvm-init: DHCP renewal failed: %s\n", e.what());
    }
  }
}

Ipv4 parse_ipv4(const std::string& text, const std::string& what) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) fail("network config: bad " + what + " \"" + text + "\"");
  return ntohl(a.s_addr);
}

// "address": "A.B.C.D/N" with "gateway" and "dns", all three or none.
std::optional<DhcpLease> parse_static_lease(const nlohmann::json& j) {
  bool any = j.contains("address") || j.contains("gateway") || j.contains("dns");
  if (!any) return std::nullopt;
  if (!j.contains("address") || !j.contains("gateway") || !j.contains("dns"))
    fail("network config: \"address\", \"gateway\" and \"dns\" go together");
  std::string cidr = field<std::string>(j, "address", "");
  auto slash = cidr.find('/');
  if (slash == std::string::npos)
    fail("network config: \"address\" must be A.B.C.D/prefix, got \"" + cidr + "\"");
  DhcpLease lease;
  lease.address = parse_ipv4(cidr.substr(0, slash), "address");
  std::string prefix = cidr.substr(slash + 1);
  if (prefix.empty() || prefix.size() > 2 || prefix.find_first_not_of("0123456789") != std::string::npos)
    fail("network config: bad prefix in \"" + cidr + "\"");
  lease.prefix = std::stoi(prefix);
  if (lease.prefix < 1 || lease.prefix > 32) fail("network config: bad prefix in \"" + cidr + "\"");
  lease.router = parse_ipv4(field<std::string>(j, "gateway", ""), "gateway");
  if (!j["dns"].is_array()) fail("network config: \"dns\" must be a list");
  for (const auto& d : j["dns"]) {
    if (!d.is_string()) fail("network config: \"dns\" entries must be strings");
    lease.dns_servers.push_back(parse_ipv4(d.get<std::string>(), "dns server"));
  }
  return lease;
}

}  // namespace

NetworkConfig parse_network_config(const nlohmann::json& j) {
  reject_unknown(j,
                 {"interface", "hostname", "hosts", "dhcp_timeout_ms", "renew", "address", "gateway", "dns"},
                 "network config");
  NetworkConfig c;
  c.interface = field<std::string>(j, "interface", c.interface);
  c.hostname = field<std::string>(j, "hostname", "");
  c.dhcp_timeout_ms = field<int>(j, "dhcp_timeout_ms", c.dhcp_timeout_ms);
  c.renew = field<bool>(j, "renew", c.renew);
  if (c.interface.empty() || c.interface.size() >= IFNAMSIZ || c.interface.find('/') != std::string::npos)
    fail("network config: bad interface name \"" + c.interface + "\"");
  if (!c.hostname.empty() && !valid_hostname(c.hostname))
    fail("network config: bad hostname \"" + c.hostname + "\"");
  if (c.dhcp_timeout_ms <= 0) fail("network config: dhcp_timeout_ms must be positive");
  c.static_lease = parse_static_lease(j);
  if (j.contains("hosts")) {
    if (!j["hosts"].is_array()) fail("network config: \"hosts\" must be a list");
    for (const auto& h : j["hosts"]) {
      reject_unknown(h, {"name", "ip"}, "network config: hosts entry");
      HostsEntry e{field<std::string>(h, "name", ""), field<std::string>(h, "ip", "")};
      in_addr unused{};
      if (!valid_hostname(e.name)) fail("network config: bad host name \"" + e.name + "\"");
      if (inet_pton(AF_INET, e.ip.c_str(), &unused) != 1)
        fail("network config: bad address \"" + e.ip + "\" for " + e.name);
      c.hosts.push_back(std::move(e));
    }
  }
  return c;
}

std::string render_hosts(const NetworkConfig& c, const DhcpLease& lease) {
  std::string out = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!c.hostname.empty()) out += format_ip(lease.address) + "\t" + c.hostname + "\n";
  for (const auto& h : c.hosts) out += h.ip + "\t" + h.name + "\n";
  return out;
}

std::string render_resolv_conf(const DhcpLease& lease) {
  std::string out;
  if (!lease.domain_name.empty()) out += "search " + lease.domain_name + "\n";
  for (Ipv4 server : lease.dns_servers) out += "nameserver " + format_ip(server) + "\n";
  return out;
}

void configure_network(const nlohmann::json& network_config) {
  NetworkConfig config = parse_network_config(network_config);
  set_link_up(wait_for_interface("lo", std::chrono::milliseconds(100)));
  int ifindex = wait_for_interface(config.interface, std::chrono::seconds(10));
  disable_ipv6_on(config.interface);
  set_link_up(ifindex);
  if (!config.hostname.empty() && ::sethostname(config.hostname.data(), config.hostname.size()) != 0)
    fail("setting the hostname: " + std::string(std::strerror(errno)));
  DhcpLease lease;
  if (config.static_lease) {
    lease = *config.static_lease;
  } else {
    DhcpOptions options;
    options.hostname = config.hostname;
    options.timeout = std::chrono::milliseconds(config.dhcp_timeout_ms);
    lease = DhcpClient(config.interface, options).acquire();
  }
  apply_lease(ifindex, lease);
  write_file_atomic("/etc/resolv.conf", render_resolv_conf(lease));
  write_file_atomic("/etc/hosts", render_hosts(config, lease));
  {
    std::lock_guard lock(g_mutex);
    g_lease = lease;
  }
  if (config.renew && !config.static_lease) std::thread(renewal_loop, config, lease).detach();
}

std::optional<DhcpLease> current_lease() {
  std::lock_guard lock(g_mutex);
  return g_lease;
}

int lease_renewals() {
  return g_renewals.load();
}

}  // namespace mcpvm::guest::net
