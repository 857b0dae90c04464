// The registries `mcpvm registry add` configured, in $MCPVM_HOME/registries.json (0600, written
// atomically under a lock file), searched in this order by `run NAME`, `search` and `registry info`:
//
//   {"schema_version": 1, "registries": [{"kind": "file|url|api", "location": "..."}]}
//
// Read strictly (util/json_fields.h): the file is ours, so anything unexpected is an error naming the key.
#pragma once

#include <filesystem>
#include <vector>

#include "registry/source.h"

namespace mcpvm::registry {

inline constexpr int kRegistryConfigVersion = 1;

struct RegistryConfig {
  std::vector<RegistrySource> registries;
};

std::filesystem::path registry_config_path(const std::filesystem::path& home);

// A missing file is an empty config.
RegistryConfig load_registry_config(const std::filesystem::path& home);
void save_registry_config(const std::filesystem::path& home, const RegistryConfig& config);

// Adds source unless it is there already (returns false then). Throws nothing.
bool add_registry(RegistryConfig& config, const RegistrySource& source);
// Removes the source whose location (or 1-based position in `registry ls`) is `which`; throws Error
// listing what is configured when none matches.
RegistrySource remove_registry(RegistryConfig& config, std::string_view which);

}  // namespace mcpvm::registry
