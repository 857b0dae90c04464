#include "net/policy.h"

#include <libpsl.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "net/packet.h"
#include "util/error.h"

namespace mcpvm::net {
namespace {

std::string normalize_name(std::string_view text) {
  std::string name(text);
  if (!name.empty() && name.back() == '.') name.pop_back();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

// Checks LDH labels: 1..63 chars of letters, digits, '-', '_', not starting/ending with '-'.
void check_labels(std::string_view name, std::string_view pattern) {
  if (name.empty() || name.size() > 253) fail("allowed host {:?}: not a host name", pattern);
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; }))
      fail("allowed host {:?}: {:?} is not a valid DNS label", pattern, label);
    start = end + 1;
  }
}

bool is_public_suffix(const std::string& domain) {
  // psl_latest() reads Debian's /usr/share/publicsuffix list, falling back to libpsl's built-in one.
  static const psl_ctx_t* psl = [] {
    const psl_ctx_t* ctx = psl_latest(nullptr);
    return ctx ? ctx : psl_builtin();
  }();
  if (psl == nullptr) return domain.find('.') == std::string::npos;  // no list at all: TLDs only
  return psl_is_public_suffix2(psl, domain.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

template <typename T>
T get_typed(const nlohmann::json& j, const char* what) {
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: expected {}, got {}", what, std::is_same_v<T, bool> ? "a boolean" : "a list", j.type_name());
  }
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* what) {
  if (!j.is_array()) fail("{}: expected a list of strings, got {}", what, j.type_name());
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) fail("{}: expected a list of strings, found {}", what, item.type_name());
    out.push_back(item.get<std::string>());
  }
  return out;
}

void reject_unknown(const nlohmann::json& j, std::initializer_list<std::string_view> known,
                    const char* where) {
  if (!j.is_object()) fail("{}: expected an object, got {}", where, j.type_name());
  for (const auto& [key, value] : j.items())
    if (std::find(known.begin(), known.end(), key) == known.end()) fail("{}: unknown field {:?}", where, key);
}

}  // namespace

std::string_view to_string(EgressMode mode) {
  switch (mode) {
    case EgressMode::allow_all:
      return "allow-all";
    case EgressMode::deny_all:
      return "deny-all";
    case EgressMode::allowlist:
      return "allowlist";
  }
  return "?";
}

HostPattern HostPattern::parse(std::string_view text) {
  HostPattern p;
  p.text_ = normalize_name(text);
  std::string_view name = p.text_;
  if (name.starts_with("*.")) {
    p.wildcard_ = true;
    name.remove_prefix(2);
  }
  if (name.find('*') != std::string_view::npos)
    fail("allowed host {:?}: a wildcard is only allowed as the whole first label (\"*.example.com\")", text);
  check_labels(name, text);
  if (parse_ipv4(std::string(name)))
    fail("allowed host {:?}: IP addresses are not allowed (name it with --add-host NAME:IP)", text);
  if (p.wildcard_ && (name.find('.') == std::string_view::npos || is_public_suffix(std::string(name))))
    fail("allowed host {:?}: a wildcard over a public suffix would allow a whole top-level domain", text);
  if (p.wildcard_) p.suffix_ = "." + std::string(name);
  return p;
}

bool HostPattern::matches(std::string_view name) const {
  if (!wildcard_) return name == text_;
  return name.size() > suffix_.size() && name.ends_with(suffix_);
}

EgressPolicy EgressPolicy::allow_all() {
  return {};
}

EgressPolicy EgressPolicy::deny_all() {
  EgressPolicy p;
  p.mode = EgressMode::deny_all;
  return p;
}

EgressPolicy EgressPolicy::allowlist(const std::vector<std::string>& hosts,
                                     const std::vector<uint16_t>& ports) {
  if (hosts.empty()) return deny_all();
  EgressPolicy p;
  p.mode = EgressMode::allowlist;
  for (const auto& h : hosts) p.hosts.push_back(HostPattern::parse(h));
  p.ports = ports;
  return p;
}

bool EgressPolicy::host_allowed(std::string_view name) const {
  switch (mode) {
    case EgressMode::allow_all:
      return true;
    case EgressMode::deny_all:
      return false;
    case EgressMode::allowlist:
      return std::any_of(hosts.begin(), hosts.end(), [&](const HostPattern& p) { return p.matches(name); });
  }
  return false;
}

bool EgressPolicy::port_allowed(uint16_t port) const {
  if (mode != EgressMode::allowlist) return mode == EgressMode::allow_all;
  return ports.empty() || std::find(ports.begin(), ports.end(), port) != ports.end();
}

nlohmann::json EgressPolicy::to_json() const {
  nlohmann::json hosts_json = nlohmann::json::array();
  for (const auto& h : hosts) hosts_json.push_back(h.text());
  return {{"mode", to_string(mode)},
          {"allow_host", hosts_json},
          {"allow_port", ports},
          {"allow_host_loopback", allow_host_loopback},
          {"allow_private_network", allow_private_network}};
}

PermissionProfile parse_permission_profile(const nlohmann::json& j) {
  reject_unknown(j, {"read", "write", "network"}, "permission profile");
  PermissionProfile profile;
  profile.egress = EgressPolicy::deny_all();
  if (j.contains("read")) profile.read = string_list(j["read"], "permission profile: read");
  if (j.contains("write")) profile.write = string_list(j["write"], "permission profile: write");
  if (!j.contains("network")) return profile;
  const auto& network = j["network"];
  reject_unknown(network, {"outbound"}, "permission profile: network");
  if (!network.contains("outbound")) return profile;
  const auto& out = network["outbound"];
  reject_unknown(out, {"insecure_allow_all", "allow_host", "allow_port", "allow_private_network"},
                 "permission profile: network.outbound");
  bool allow_all =
      out.contains("insecure_allow_all") &&
      get_typed<bool>(out["insecure_allow_all"], "permission profile: network.outbound.insecure_allow_all");
  std::vector<std::string> hosts;
  if (out.contains("allow_host"))
    hosts = string_list(out["allow_host"], "permission profile: network.outbound.allow_host");
  std::vector<uint16_t> ports;
  if (out.contains("allow_port")) {
    const auto& list = out["allow_port"];
    if (!list.is_array())
      fail("permission profile: network.outbound.allow_port: expected a list of ports, got {}",
           list.type_name());
    for (const auto& port : list) {
      if (!port.is_number_integer() || port.get<int64_t>() < 1 || port.get<int64_t>() > 65535)
        fail("permission profile: network.outbound.allow_port: {} is not a port number (1-65535)",
             port.dump());
      ports.push_back(static_cast<uint16_t>(port.get<int64_t>()));
    }
  }
  if (allow_all && (!hosts.empty() || !ports.empty()))
    fail(
        "permission profile: network.outbound: insecure_allow_all cannot be combined with "
        "allow_host/allow_port");
  profile.egress =
      allow_all ? EgressPolicy::allow_all()
                : with_context("permission profile", [&] { return EgressPolicy::allowlist(hosts, ports); });
  profile.egress.allow_private_network =
      out.contains("allow_private_network") &&
      get_typed<bool>(out["allow_private_network"],
                      "permission profile: network.outbound.allow_private_network");
  if (profile.egress.allow_private_network && profile.egress.mode == EgressMode::deny_all)
    fail(
        "permission profile: network.outbound: allow_private_network has no effect without "
        "insecure_allow_all or allow_host");
  return profile;
}

PermissionProfile load_permission_profile(const std::string& name_or_path) {
  if (name_or_path == "none") return parse_permission_profile(nlohmann::json::object());
  if (name_or_path == "network")
    return parse_permission_profile({{"network", {{"outbound", {{"insecure_allow_all", true}}}}}});
  std::ifstream in(name_or_path);
  if (!in) fail_errno("reading permission profile {}", name_or_path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    fail("permission profile {}: not valid JSON: {}", name_or_path, e.what());
  }
  return with_context(fmt::format("permission profile {}", name_or_path),
                      [&] { return parse_permission_profile(j); });
}

}  // namespace mcpvm::net
