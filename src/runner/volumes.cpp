#include "runner/volumes.h"

#include "util/error.h"

namespace mcpvm::runner {

void add_profile_volumes(std::vector<vm::Volume>& volumes, const net::PermissionProfile& profile,
                         const std::string& what, const std::filesystem::path& cwd) {
  with_context(what, [&] {
    for (const auto& spec : profile.read) {
      with_context(fmt::format("read {:?}", spec), [&] {
        vm::Volume v = vm::parse_volume_spec(spec, cwd);
        v.read_only = true;
        vm::add_volume(volumes, v);
      });
    }
    for (const auto& spec : profile.write) {
      with_context(fmt::format("write {:?}", spec), [&] {
        vm::Volume v = vm::parse_volume_spec(spec, cwd);
        if (v.read_only) fail("a writable entry cannot end in :ro (list it under \"read\")");
        vm::add_volume(volumes, v);
      });
    }
  });
}

std::vector<vm::Volume> build_volumes(const std::vector<std::string>& specs,
                                      const std::string& permission_profile,
                                      const std::filesystem::path& cwd) {
  std::vector<vm::Volume> volumes;
  for (const auto& spec : specs)
    with_context(fmt::format("--volume {:?}", spec),
                 [&] { vm::add_volume(volumes, vm::parse_volume_spec(spec, cwd)); });
  if (permission_profile.empty() || permission_profile == "none" || permission_profile == "network")
    return volumes;
  // The network side reads the same file (net::build_network_request); both happen once, at `run`.
  add_profile_volumes(volumes, net::load_permission_profile(permission_profile),
                      fmt::format("permission profile {}", permission_profile), cwd);
  return volumes;
}

}  // namespace mcpvm::runner
