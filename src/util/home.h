// Where mcpvm keeps its data: $MCPVM_HOME, else $XDG_DATA_HOME/mcpvm, else ~/.local/share/mcpvm.
// Layout (docs/ARCHITECTURE.md): blobs/ refs/ rootfs/ kernel/ vms/ tmp/ — all 0700.
#pragma once

#include <filesystem>

namespace mcpvm {

// The data directory (not created). Throws Error when it, or its vms/, exists but belongs to someone else
// or is writable by others (see check_private_dir).
std::filesystem::path mcpvm_home();

// The data directory, created (0700) if missing.
std::filesystem::path ensure_mcpvm_home();

// The folder holding mcpvm's own binaries (mcpvm, mcpvm-init, ...): $MCPVM_BIN_DIR, else the folder of
// the running executable.
std::filesystem::path mcpvm_bin_dir();

}  // namespace mcpvm
