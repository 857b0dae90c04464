// The guest kernel and its modules. Default: the Debian kernel cached by scripts/fetch-kernel.sh
// ($MCPVM_HOME/kernel/current, then /var/lib/mcpvm/kernel/current). Override: --kernel PATH or
// $MCPVM_KERNEL (an ELF vmlinux is booted through its PVH entry, a bzImage works too but its XZ payload
// costs ~4 s under TCG); modules come from PATH's folder's lib/modules/<ver>, or $MCPVM_KERNEL_MODULES
// (a lib/modules/<ver> folder, or "none" for a kernel with everything built in).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mcpvm::vm {

struct KernelFiles {
  std::filesystem::path kernel;
  std::filesystem::path modules_dir;  // lib/modules/<version>; empty: no loadable modules
  std::string version;
};

// Finds the kernel (override first). Throws Error naming what is missing and how to get it.
KernelFiles find_kernel(const std::optional<std::filesystem::path>& override_path = std::nullopt);

struct ModuleFile {
  std::string name;            // "virtio_mmio"
  std::filesystem::path path;  // absolute
};

// The modules `wanted` needs, dependencies first, each once, as modprobe would load them (from
// modules.dep; modules listed in modules.builtin are skipped). Throws Error for an unknown module.
std::vector<ModuleFile> resolve_modules(const std::filesystem::path& modules_dir,
                                        const std::vector<std::string>& wanted);

// Parses modules.dep text: module path → its dependencies in modules.dep order. Exposed for tests.
struct DepEntry {
  std::string path;
  std::vector<std::string> deps;
};
std::vector<DepEntry> parse_modules_dep(const std::string& text);

// The modules every mcpvm guest loads, and those added when the VM has a network.
const std::vector<std::string>& base_modules();
const std::vector<std::string>& network_modules();

}  // namespace mcpvm::vm
