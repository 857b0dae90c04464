#include "registry/toolhive_registry.h"

#include "oci/reference.h"
#include "registry/document_fields.h"
#include "registry/env_name.h"
#include "util/error.h"

namespace mcpvm::registry {

using nlohmann::json;

RegistryEntry parse_toolhive_server(const std::string& name, const json& s, const std::string& path) {
  fields::expect_object(s, path);
  RegistryEntry e;
  check_entry_name(name);
  e.name = name;
  e.title = fields::string_or(s, "title", path);
  e.description = fields::string_or(s, "description", path);
  e.version = fields::string_or(s, "version", path);
  e.image = fields::string_or(s, "image", path);
  if (e.image.empty()) fail("{}: no image", path);
  with_context(fields::join(path, "image"), [&] { oci::Reference::parse(e.image); });
  e.transport = with_context(fields::join(path, "transport"), [&] {
    return normalize_transport(fields::string_or(s, "transport", path, "stdio"));
  });
  e.target_port = fields::port_or_zero(s, "target_port", path);
  e.args = fields::strings(s, "args", path);
  e.tools = fields::strings(s, "tools", path);
  e.tags = fields::strings(s, "tags", path);
  e.repository_url = fields::string_or(s, "repository_url", path);
  e.status = fields::string_or(s, "status", path);
  if (s.contains("env_vars") && !s["env_vars"].is_null()) {
    const json& list = s["env_vars"];
    std::string list_path = fields::join(path, "env_vars");
    if (!list.is_array()) fail("{}: expected a list, got {}", list_path, list.type_name());
    for (size_t i = 0; i < list.size(); ++i) {
      std::string item_path = fmt::format("{}[{}]", list_path, i);
      fields::expect_object(list[i], item_path);
      EnvVarSpec v;
      v.name = fields::string_or(list[i], "name", item_path);
      check_env_name(v.name, item_path);
      v.description = fields::string_or(list[i], "description", item_path);
      v.required = fields::bool_or(list[i], "required", item_path, false);
      v.secret = fields::bool_or(list[i], "secret", item_path, false);
      if (list[i].contains("default") && !list[i]["default"].is_null())
        v.default_value = fields::string_or(list[i], "default", item_path);
      if (v.default_value && v.default_value->empty()) v.default_value.reset();  // ToolHive writes ""
      e.env.push_back(std::move(v));
    }
  }
  if (s.contains("permissions") && !s["permissions"].is_null())
    e.permissions = with_context(path, [&] { return normalize_permissions(s["permissions"]); });
  return e;
}

Catalog parse_toolhive_registry(const json& document) {
  fields::expect_object(document, "");
  const json& servers = document.at("servers");
  if (!servers.is_object()) fail("servers: expected an object, got {}", servers.type_name());
  Catalog catalog;
  for (const auto& [name, server] : servers.items()) {
    try {
      add_entry(catalog, parse_toolhive_server(name, server, "servers." + name));
    } catch (const Error& e) {
      catalog.skipped.push_back({name, e.what()});
    }
  }
  if (document.contains("remote_servers") && document["remote_servers"].is_object())
    for (const auto& [name, server] : document["remote_servers"].items())
      catalog.skipped.push_back({name, "a remote server (nothing to run in a VM)"});
  return catalog;
}

}  // namespace mcpvm::registry
