#include "registry/entry.h"

#include <algorithm>
#include <cctype>

#include "net/policy.h"
#include "util/error.h"

namespace mcpvm::registry {
namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

void check_name_part(std::string_view part, std::string_view name) {
  if (part.empty()) fail("server name {:?}: an empty part", name);
  if (part == "." || part == "..") fail("server name {:?}: {:?} is not a name", name, part);
  if (part.front() == '.' || part.front() == '-')
    fail("server name {:?}: a part may not start with {:?}", name, part.front());
  for (char c : part)
    if (!name_char(c))
      fail("server name {:?}: {:?} is not allowed (letters, digits, '.', '_', '-' and one '/')", name,
           std::string(1, c));
}

const char* const kAllowedFields[] = {"insecure_allow_all", "allow_host", "allow_port",
                                      "allow_private_network"};

}  // namespace

std::string RegistryEntry::short_name() const {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

void check_entry_name(std::string_view name) {
  if (name.empty() || name.size() > 200) fail("server name {:?}: expected 1-200 characters", name);
  auto slash = name.find('/');
  if (slash != std::string_view::npos && name.find('/', slash + 1) != std::string_view::npos)
    fail("server name {:?}: at most one '/' (NAMESPACE/NAME)", name);
  if (slash == std::string_view::npos) return check_name_part(name, name);
  check_name_part(name.substr(0, slash), name);
  check_name_part(name.substr(slash + 1), name);
}

bool matches_words(const RegistryEntry& e, const std::vector<std::string>& words) {
  std::string text = lower(e.name + "\n" + e.title + "\n" + e.description);
  for (const auto& t : e.tags) text += "\n" + lower(t);
  for (const auto& t : e.tools) text += "\n" + lower(t);
  return std::all_of(words.begin(), words.end(),
                     [&](const std::string& w) { return text.find(lower(w)) != std::string::npos; });
}

std::vector<std::string> host_patterns(std::string_view host) {
  if (host.size() > 1 && host.front() == '.') {
    std::string apex(host.substr(1));
    return {apex, "*." + apex};
  }
  return {std::string(host)};
}

json normalize_permissions(const json& published) {
  if (!published.is_object()) fail("permissions: expected an object, got {}", published.type_name());
  json out = json::object();
  for (const auto& [key, value] : published.items()) {
    if (key == "name") continue;  // ToolHive's label for a built-in profile; nothing to enforce
    if (key != "read" && key != "write" && key != "network")
      fail("permissions: unknown field {:?} (a restriction mcpvm cannot read is one it could not enforce)",
           key);
    out[key] = value;
  }
  if (out.contains("network") && out["network"].is_object() && out["network"].contains("outbound")) {
    json& outbound = out["network"]["outbound"];
    if (outbound.is_object()) {
      for (const auto& [key, value] : outbound.items())
        if (std::find(std::begin(kAllowedFields), std::end(kAllowedFields), key) == std::end(kAllowedFields))
          fail("permissions: network.outbound: unknown field {:?}", key);
      if (outbound.contains("allow_host") && outbound["allow_host"].is_array()) {
        json hosts = json::array();
        for (const auto& h : outbound["allow_host"]) {
          if (!h.is_string()) fail("permissions: network.outbound.allow_host: expected strings");
          for (auto& p : host_patterns(h.get<std::string>())) hosts.push_back(p);
        }
        outbound["allow_host"] = hosts;
      }
    }
  }
  // The profile's own parser is the one `run --permission-profile FILE` uses: same rules, same messages.
  with_context("permissions", [&] { net::parse_permission_profile(out); });
  return out;
}

std::string normalize_transport(std::string_view published) {
  std::string t = lower(published);
  if (t == "stdio" || t == "sse") return t;
  if (t == "streamable-http" || t == "streamable_http" || t == "http" || t == "streamablehttp")
    return "streamable-http";
  fail("transport {:?}: expected stdio, sse or streamable-http", published);
}

json to_json(const RegistryEntry& e) {
  json env = json::array();
  for (const auto& v : e.env) {
    json item = {
        {"name", v.name}, {"description", v.description}, {"required", v.required}, {"secret", v.secret}};
    if (v.default_value) item["default"] = *v.default_value;
    env.push_back(item);
  }
  return {{"name", e.name},
          {"title", e.title},
          {"description", e.description},
          {"version", e.version},
          {"image", e.image},
          {"transport", e.transport},
          {"target_port", e.target_port},
          {"args", e.args},
          {"env", env},
          {"permissions", e.permissions ? *e.permissions : json(nullptr)},
          {"tools", e.tools},
          {"tags", e.tags},
          {"repository_url", e.repository_url},
          {"status", e.status},
          {"source", e.source}};
}

}  // namespace mcpvm::registry
