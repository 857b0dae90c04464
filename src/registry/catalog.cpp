#include "registry/catalog.h"

#include "registry/document_fields.h"
#include "registry/server_json.h"
#include "registry/toolhive_registry.h"
#include "util/error.h"
#include "util/json_depth.h"

namespace mcpvm::registry {
namespace {

using nlohmann::json;

// A name for the skipped list: the entry's own when it has a usable one.
std::string label_of(const json& server, const std::string& path) {
  if (server.is_object()) {
    auto it = server.find("name");
    if (it != server.end() && it->is_string() && it->get<std::string>().size() <= 200)
      return it->get<std::string>();
  }
  return path;
}

void add_server_json(Catalog& catalog, const json& server, const std::string& path) {
  try {
    add_entry(catalog, parse_server_json(server, path));
  } catch (const Error& e) {
    catalog.skipped.push_back({label_of(server, path), e.what()});
  }
}

// An item of an API list or of a server.json list: {"server": {...}, "_meta": {...}} or the server itself.
void add_list_item(Catalog& catalog, const json& item, const std::string& path) {
  if (item.is_object() && item.contains("server") && !item.contains("name"))
    return add_server_json(catalog, item["server"], path + ".server");
  add_server_json(catalog, item, path);
}

void add_list(Catalog& catalog, const json& list, const std::string& path) {
  for (size_t i = 0; i < list.size(); ++i) add_list_item(catalog, list[i], fmt::format("{}[{}]", path, i));
}

Catalog parse_document(const json& doc) {
  Catalog catalog;
  if (doc.is_array()) {
    add_list(catalog, doc, "");
    return catalog;
  }
  fields::expect_object(doc, "");
  if (doc.contains("servers") && doc["servers"].is_object()) return parse_toolhive_registry(doc);
  if (doc.contains("servers") && doc["servers"].is_array()) {
    add_list(catalog, doc["servers"], "servers");
    if (doc.contains("metadata") && doc["metadata"].is_object())
      catalog.next_cursor = fields::string_or(doc["metadata"], "nextCursor", "metadata");
    return catalog;
  }
  if (doc.contains("data") && doc["data"].is_object() && doc["data"].contains("servers") &&
      doc["data"]["servers"].is_array()) {
    add_list(catalog, doc["data"]["servers"], "data.servers");
    return catalog;
  }
  if (doc.contains("server") && doc["server"].is_object()) {
    add_server_json(catalog, doc["server"], "server");
    return catalog;
  }
  if (doc.contains("name") &&
      (doc.contains("packages") || doc.contains("remotes") || doc.contains("$schema"))) {
    add_server_json(catalog, doc, "");
    return catalog;
  }
  if (doc.contains("servers"))
    fail("servers: expected an object (ToolHive's registry.json) or a list (server.json entries), got {}",
         doc["servers"].type_name());
  fail(
      "not a registry: expected ToolHive's registry.json ({{\"servers\": {{...}}}}), an MCP registry "
      "server.json or list of them, or an MCP Registry API answer");
}

}  // namespace

void add_entry(Catalog& catalog, RegistryEntry entry) {
  for (const auto& e : catalog.entries)
    if (e.name == entry.name) {
      catalog.skipped.push_back(
          {entry.name, fmt::format("a second entry named {:?} (the first one is kept)", entry.name)});
      return;
    }
  catalog.entries.push_back(std::move(entry));
}

void Catalog::merge(Catalog other) {
  for (auto& e : other.entries) add_entry(*this, std::move(e));
  for (auto& s : other.skipped) skipped.push_back(std::move(s));
}

const RegistryEntry* Catalog::find(std::string_view name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  if (name.find('/') != std::string_view::npos) return nullptr;
  std::vector<const RegistryEntry*> found;
  for (const auto& e : entries)
    if (e.short_name() == name) found.push_back(&e);
  if (found.size() > 1) {
    std::string names;
    for (const auto* e : found) names += (names.empty() ? "" : ", ") + e->name;
    fail("{:?} names several servers ({}): give the full name", name, names);
  }
  return found.empty() ? nullptr : found.front();
}

const SkippedEntry* Catalog::find_skipped(std::string_view name) const {
  for (const auto& s : skipped) {
    auto slash = s.name.rfind('/');
    if (s.name == name || (name.find('/') == std::string_view::npos && slash != std::string::npos &&
                           s.name.substr(slash + 1) == name))
      return &s;
  }
  return nullptr;
}

Catalog parse_registry_document(std::string_view text, const std::string& origin) {
  return with_context(origin, [&] {
    if (text.size() > kMaxRegistryBytes)
      fail("{} bytes: larger than the {} MiB a registry document may be", text.size(),
           kMaxRegistryBytes >> 20);
    bool too_deep = false;
    json doc = parse_untrusted_json(text, &too_deep);
    if (doc.is_discarded()) fail("{}", too_deep ? too_deep_reason() : std::string("not valid JSON"));
    return parse_document(doc);
  });
}

}  // namespace mcpvm::registry
