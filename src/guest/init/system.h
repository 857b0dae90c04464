// The machine-level duties of PID 1: mounts, kernel modules, the switch to the image's root, the
// hostname, and ending the VM.
#pragma once

#include <string>
#include <vector>

#include "guest/config.h"

namespace mcpvm::guest {

// /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm in the initramfs.
void mount_early();

// Loads each file in kModulesDir, in order; a module already present (built in) is fine. When the
// kernel does not enforce signatures, a module goes in without its appended signature (init_module of
// the shorter image), which spares the verification; otherwise finit_module() of the signed file.
// Returns "name=Nms ..." for the boot-phase line: where module time goes differs a lot between kernels.
std::string load_modules(const std::vector<std::string>& modules);

// Mounts the read-only squashfs + an overlay with a size-limited tmpfs upper, moves /dev /proc /sys into
// it and makes it the root (MS_MOVE + chroot: pivot_root does not work from an initramfs).
void switch_to_image_root(const GuestConfig& config);

// /run and /tmp (tmpfs) in the image's root.
void mount_late();

void set_hostname(const std::string& name);

// Kills every other process, syncs, unmounts what it can, and resets the machine: reboot(RB_AUTOBOOT)
// with `reboot=t` on the command line and QEMU's -no-reboot is what makes QEMU exit promptly
// (RB_POWER_OFF halts the guest but leaves QEMU running).
[[noreturn]] void end_vm();

}  // namespace mcpvm::guest
