// Warm-start templates (docs/warm-start.md): a VM booted once to the point where its init waits for its
// configuration, then saved (QMP stop + migrate to a file) with its guest RAM in a file of its own.
// Every VM restored from it maps that RAM file private, so its pages stay shared in the page cache until a
// guest writes them. Stored under $MCPVM_HOME/templates/<key>/ (vm/template_key.h), built on first need
// under a lock, published by one rename, and never used when its key does not match the VM's inputs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vm/template_key.h"
#include "vm/vm.h"

namespace mcpvm::vm {

struct Template {
  std::string key;
  std::filesystem::path dir;
  std::filesystem::path ram;     // guest RAM image (memory-backend-file)
  std::filesystem::path state;   // device state (the migration stream without RAM: x-ignore-shared)
  std::filesystem::path initrd;  // the template's initramfs
  std::string kernel_cmdline;    // what the template booted with (a restored guest keeps it)
  std::vector<std::string> deferred_modules;  // loaded by the restored guest (e.g. virtio_blk)
};

// Why a spec cannot be restored from a template (cold boot then), or nullopt when it can.
std::optional<std::string> warm_start_unsupported(const VmSpec& spec);

// The modules loaded after restore: the root disk's driver, so that its probe reads the capacity of the
// image the restoring QEMU attached (the template was saved with a placeholder disk).
const std::vector<std::string>& deferred_modules();

// The QEMU arguments that shape the machine, with every per-VM path and fd replaced by a fixed name
// (pure: unit-tested). Two specs with the same shape restore each other's templates.
std::string machine_shape(const VmSpec& spec);

// The template for this spec, built now (~ one cold boot) when there is none with a matching key.
// Throws Error.
Template ensure_template(const VmSpec& spec);

// Removes a template that failed to restore, so the next VM builds it again.
void discard_template(const Template& t);

}  // namespace mcpvm::vm
