// The configured registries ($MCPVM_HOME/registries.json, registry/config.h) as `run`, `search` and
// `registry info` use them: in order, the first registry that has a name wins. A registry that cannot be
// fetched is reported on stderr as a warning and the others are still asked.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/catalog.h"
#include "registry/config.h"

namespace mcpvm::cli {

registry::RegistryConfig configured_registries();

// NAME's entry from the first registry that has it. nullopt when none has it; throws Error when one has it
// but cannot run it (the skip reason), or when no registry is configured and `required`.
std::optional<registry::RegistryEntry> find_registry_entry(std::string_view name);

// Every runnable entry matching all words (all entries for none), first registry first, without duplicates.
registry::Catalog search_registries(const std::vector<std::string>& words);

}  // namespace mcpvm::cli
