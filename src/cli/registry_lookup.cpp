#include "cli/registry_lookup.h"

#include <iostream>

#include "registry/source.h"
#include "util/error.h"
#include "util/home.h"

namespace mcpvm::cli {

registry::RegistryConfig configured_registries() {
  return registry::load_registry_config(mcpvm_home());
}

std::optional<registry::RegistryEntry> find_registry_entry(std::string_view name) {
  for (const auto& source : configured_registries().registries) {
    registry::Catalog catalog;
    try {
      catalog = registry::fetch_for_name(source, name);
    } catch (const Error& e) {
      std::cerr << "mcpvm: warning: skipping a registry: " << e.what() << "\n";
      continue;
    }
    if (const auto* entry = catalog.find(name)) return *entry;
    if (const auto* skipped = catalog.find_skipped(name))
      fail("{} is in registry {} but cannot run here: {}", name, source.location, skipped->reason);
  }
  return std::nullopt;
}

registry::Catalog search_registries(const std::vector<std::string>& words) {
  registry::Catalog found;
  for (const auto& source : configured_registries().registries) {
    registry::Catalog catalog;
    try {
      catalog = registry::fetch_catalog(source, words);
    } catch (const Error& e) {
      std::cerr << "mcpvm: warning: skipping a registry: " << e.what() << "\n";
      continue;
    }
    registry::Catalog matching;
    for (auto& entry : catalog.entries)
      if (registry::matches_words(entry, words)) matching.entries.push_back(std::move(entry));
    found.merge(std::move(matching));
  }
  found.skipped.clear();  // a name in two registries: the first one's entry is shown, as run would use it
  return found;
}

}  // namespace mcpvm::cli
