// The resolved VM description (vm::VmSpec) as saved in a VM's config.json, so the runner — and a later
// `start`, even after a host reboot — boots exactly what `run` resolved (image rootfs, command, env, size).
// Per-run parts (console log path, network fd) are not saved: the runner sets them.
#pragma once

#include <nlohmann/json.hpp>

#include "vm/vm.h"

namespace mcpvm::runner {

nlohmann::json spec_to_json(const vm::VmSpec& spec);
vm::VmSpec spec_from_json(const nlohmann::json& j);  // throws Error naming the bad field

}  // namespace mcpvm::runner
