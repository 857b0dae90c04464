#include "registry/config.h"

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"
#include "util/json_fields.h"

namespace mcpvm::registry {

using nlohmann::json;

std::filesystem::path registry_config_path(const std::filesystem::path& home) {
  return home / "registries.json";
}

RegistryConfig load_registry_config(const std::filesystem::path& home) {
  auto path = registry_config_path(home);
  RegistryConfig config;
  if (!std::filesystem::exists(path)) return config;
  return with_context(path.string(), [&] {
    json j = json::parse(read_file(path, 1 << 20), nullptr, false);
    if (j.is_discarded()) fail("not valid JSON");
    JsonFields f(j, "");
    int version = f.required<int>("schema_version");
    if (version != kRegistryConfigVersion)
      fail("schema_version {}: this mcpvm reads version {}", version, kRegistryConfigVersion);
    for (const auto& item : f.array("registries")) {
      JsonFields r(item, "registries[]");
      RegistrySource source{parse_source_kind(r.required<std::string>("kind")),
                            r.required<std::string>("location")};
      r.finish();
      config.registries.push_back(std::move(source));
    }
    f.finish();
    return config;
  });
}

void save_registry_config(const std::filesystem::path& home, const RegistryConfig& config) {
  json list = json::array();
  for (const auto& r : config.registries)
    list.push_back({{"kind", to_string(r.kind)}, {"location", r.location}});
  json j = {{"schema_version", kRegistryConfigVersion}, {"registries", list}};
  write_file_atomic(registry_config_path(home), j.dump(2) + "\n", 0600);
}

bool add_registry(RegistryConfig& config, const RegistrySource& source) {
  for (const auto& r : config.registries)
    if (r.location == source.location) return false;
  config.registries.push_back(source);
  return true;
}

RegistrySource remove_registry(RegistryConfig& config, std::string_view which) {
  for (size_t i = 0; i < config.registries.size(); ++i) {
    if (config.registries[i].location == which || std::to_string(i + 1) == which) {
      RegistrySource removed = config.registries[i];
      config.registries.erase(config.registries.begin() + long(i));
      return removed;
    }
  }
  std::string known;
  for (const auto& r : config.registries) known += (known.empty() ? "" : ", ") + r.location;
  fail("no registry {:?} is configured ({})", which, known.empty() ? "none is" : "configured: " + known);
}

}  // namespace mcpvm::registry
