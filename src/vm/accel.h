// Acceleration choice. MCPVM_ACCEL=auto|kvm|tcg (default auto). `auto` does not trust /dev/kvm blindly
// (a nested KVM can boot Linux unusably slowly): it boots the kernel once under KVM with a short deadline
// and caches the verdict in $MCPVM_HOME/kernel/accel.json, keyed by kernel and QEMU version. Falling back
// to TCG prints a warning.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "vm/kernel.h"

namespace mcpvm::vm {

enum class Accel { kvm, tcg };

std::string to_string(Accel a);

// Parses "auto" / "kvm" / "tcg"; nullopt for auto. Throws Error for anything else.
std::optional<Accel> parse_accel(std::string_view s);

// The accelerator to use for VMs of this kernel, per MCPVM_ACCEL (or `requested` if given).
Accel choose_accel(const KernelFiles& kernel, const std::string& qemu_binary,
                   std::optional<std::string> requested = std::nullopt);

// Boots `kernel` with an init that powers off at once, under `accel`, within `deadline`. True when it
// got there. Used by choose_accel; public for tests.
bool probe_accel(const KernelFiles& kernel, const std::string& qemu_binary, Accel accel,
                 std::chrono::milliseconds deadline);

// The host's TSC frequency in kHz (rdtsc against CLOCK_MONOTONIC for ~20 ms), cached per host boot in
// $MCPVM_HOME/kernel/tsc.json. Debian kernels on microvm under TCG stall in TSC calibration without
// tsc_early_khz=<this> on their command line.
uint64_t host_tsc_khz();

// One measurement, uncached.
uint64_t measure_tsc_khz(std::chrono::milliseconds span = std::chrono::milliseconds(20));

}  // namespace mcpvm::vm
