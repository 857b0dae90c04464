#include "registry/server_json.h"

#include <fmt/ranges.h>

#include "oci/reference.h"
#include "registry/document_fields.h"
#include "registry/env_name.h"
#include "util/error.h"

namespace mcpvm::registry {
namespace {

using nlohmann::json;

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// "http://localhost:8080/mcp" -> 8080; 0 for no port or a "{port}" template.
uint16_t port_of_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return 0;
  auto host_end = url.find('/', scheme + 3);
  std::string authority =
      url.substr(scheme + 3, host_end == std::string::npos ? std::string::npos : host_end - scheme - 3);
  auto colon = authority.rfind(':');
  if (colon == std::string::npos || colon + 1 == authority.size() || authority.size() - colon > 6) return 0;
  unsigned long port = 0;
  for (char c : authority.substr(colon + 1)) {
    if (c < '0' || c > '9') return 0;
    port = port * 10 + unsigned(c - '0');
  }
  return port >= 1 && port <= 65535 ? uint16_t(port) : 0;
}

// The OCI package's image: its identifier, with the old schemas' separate "version" as the tag.
std::string image_of(const json& package, const std::string& path) {
  std::string identifier = fields::string_or(package, "identifier", path);
  if (identifier.empty()) fail("{}: an OCI package without an identifier", path);
  std::string version = fields::string_or(package, "version", path);
  auto last_slash = identifier.rfind('/');
  bool has_tag = identifier.find(':', last_slash == std::string::npos ? 0 : last_slash) != std::string::npos;
  if (!has_tag && identifier.find('@') == std::string::npos && !version.empty()) identifier += ":" + version;
  with_context(fields::join(path, "identifier"), [&] { oci::Reference::parse(identifier); });
  return identifier;
}

std::vector<std::string> package_arguments(const json& package, const std::string& path) {
  std::vector<std::string> args;
  const json* list = member(package, "packageArguments");
  if (!list) return args;
  std::string list_path = fields::join(path, "packageArguments");
  if (!list->is_array()) fail("{}: expected a list, got {}", list_path, list->type_name());
  for (size_t i = 0; i < list->size(); ++i) {
    std::string item_path = fmt::format("{}[{}]", list_path, i);
    const json& a = (*list)[i];
    fields::expect_object(a, item_path);
    std::string type = fields::string_or(a, "type", item_path, "positional");
    std::string value = fields::string_or(a, "value", item_path, fields::string_or(a, "default", item_path));
    if (type == "named") {
      std::string name = fields::string_or(a, "name", item_path);
      if (name.empty()) fail("{}: a named argument without a name", item_path);
      args.push_back(name);
      if (!value.empty()) args.push_back(value);
    } else if (type == "positional") {
      if (!value.empty()) args.push_back(value);  // one without a value is the user's to give after --
    } else {
      fail("{}.type: {:?} is neither positional nor named", item_path, type);
    }
  }
  return args;
}

std::vector<EnvVarSpec> environment_variables(const json& package, const std::string& path) {
  std::vector<EnvVarSpec> env;
  const json* list = member(package, "environmentVariables");
  if (!list) return env;
  std::string list_path = fields::join(path, "environmentVariables");
  if (!list->is_array()) fail("{}: expected a list, got {}", list_path, list->type_name());
  for (size_t i = 0; i < list->size(); ++i) {
    std::string item_path = fmt::format("{}[{}]", list_path, i);
    const json& v = (*list)[i];
    fields::expect_object(v, item_path);
    EnvVarSpec spec;
    spec.name = fields::string_or(v, "name", item_path);
    check_env_name(spec.name, item_path);
    spec.description = fields::string_or(v, "description", item_path);
    spec.required = fields::bool_or(v, "isRequired", item_path, false);
    spec.secret = fields::bool_or(v, "isSecret", item_path, false);
    if (member(v, "default")) spec.default_value = fields::string_or(v, "default", item_path);
    env.push_back(std::move(spec));
  }
  return env;
}

// Why a server with no OCI package cannot run here, for the skipped list.
[[noreturn]] void no_image(const json& server, const std::string& path) {
  std::vector<std::string> kinds;
  if (const json* packages = member(server, "packages"); packages && packages->is_array())
    for (const auto& p : *packages)
      if (const json* t = member(p, "registryType"); t && t->is_string())
        kinds.push_back(t->get<std::string>());
  if (!kinds.empty())
    fail("{}: no OCI image ({} package only): mcpvm runs images", path,
         fmt::format("{}", fmt::join(kinds, "/")));
  if (member(server, "remotes")) fail("{}: a remote server (nothing to run in a VM)", path);
  fail("{}: no packages", path);
}

// ToolHive's extension for this image, or nullptr.
const json* toolhive_extension(const json& server, const std::string& identifier, const std::string& path) {
  const json* meta = member(server, "_meta");
  const json* provided = meta ? member(*meta, kPublisherProvided) : nullptr;
  const json* stacklok = provided ? member(*provided, kToolHivePublisher) : nullptr;
  if (!stacklok) return nullptr;
  const json* ext = member(*stacklok, identifier);
  if (ext)
    fields::expect_object(*ext, fmt::format("{}._meta[{:?}][{:?}][{:?}]", path, kPublisherProvided,
                                            kToolHivePublisher, identifier));
  return ext;
}

}  // namespace

RegistryEntry parse_server_json(const json& server, const std::string& path) {
  fields::expect_object(server, path);
  RegistryEntry e;
  e.name = fields::string_or(server, "name", path);
  check_entry_name(e.name);
  e.title = fields::string_or(server, "title", path);
  e.description = fields::string_or(server, "description", path);
  e.version = fields::string_or(server, "version", path);
  if (const json* repo = member(server, "repository")) {
    fields::expect_object(*repo, fields::join(path, "repository"));
    e.repository_url = fields::string_or(*repo, "url", fields::join(path, "repository"));
  }
  const json* packages = member(server, "packages");
  if (packages && !packages->is_array())
    fail("{}: expected a list, got {}", fields::join(path, "packages"), packages->type_name());
  const json* package = nullptr;
  std::string package_path;
  for (size_t i = 0; packages && i < packages->size() && !package; ++i) {
    std::string p = fields::join(path, fmt::format("packages[{}]", i));
    fields::expect_object((*packages)[i], p);
    if (fields::string_or((*packages)[i], "registryType", p) == "oci") {
      package = &(*packages)[i];
      package_path = p;
    }
  }
  if (!package) no_image(server, path);
  std::string identifier = fields::string_or(*package, "identifier", package_path);
  e.image = image_of(*package, package_path);

  e.transport = "stdio";
  if (const json* transport = member(*package, "transport")) {
    std::string tpath = fields::join(package_path, "transport");
    fields::expect_object(*transport, tpath);
    e.transport = with_context(fields::join(tpath, "type"), [&] {
      return normalize_transport(fields::string_or(*transport, "type", tpath, "stdio"));
    });
    e.target_port = port_of_url(fields::string_or(*transport, "url", tpath));
  }
  e.args = package_arguments(*package, package_path);
  e.env = environment_variables(*package, package_path);

  if (const json* ext = toolhive_extension(server, identifier, path)) {
    std::string xpath = fmt::format("{}._meta.{}.{}", path, kToolHivePublisher, identifier);
    e.tools = fields::strings(*ext, "tools", xpath);
    e.tags = fields::strings(*ext, "tags", xpath);
    e.status = fields::string_or(*ext, "status", xpath);
    if (member(*ext, "args")) e.args = fields::strings(*ext, "args", xpath);
    if (uint16_t port = fields::port_or_zero(*ext, "target_port", xpath)) e.target_port = port;
    if (const json* permissions = member(*ext, "permissions"))
      e.permissions = with_context(xpath, [&] { return normalize_permissions(*permissions); });
  }
  if (e.transport == "stdio") e.target_port = 0;
  return e;
}

}  // namespace mcpvm::registry
