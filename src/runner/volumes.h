// A run's volumes from its flags: every -v/--volume spec, then the permission profile's "read" (read-only)
// and "write" (writable) entries, in ToolHive's syntax (vm/volume.h). Runs before any image lookup or boot.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "net/policy.h"
#include "vm/volume.h"

namespace mcpvm::runner {

// permission_profile: --permission-profile as given ("", "none", "network" or a JSON file). Relative host
// paths are taken against cwd. Throws Error with a one-line message naming the offending spec.
std::vector<vm::Volume> build_volumes(const std::vector<std::string>& specs,
                                      const std::string& permission_profile,
                                      const std::filesystem::path& cwd);

// Adds a permission profile's "read" (read-only) and "write" entries; `what` names the profile in messages.
void add_profile_volumes(std::vector<vm::Volume>& volumes, const net::PermissionProfile& profile,
                         const std::string& what, const std::filesystem::path& cwd);

}  // namespace mcpvm::runner
