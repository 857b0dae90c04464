// Acceleration choice. MCPVM_ACCEL=auto|kvm|tcg (default auto). `auto` does not trust /dev/kvm blindly
// (a nested KVM can boot Linux unusably slowly): it boots the kernel once under KVM with a short deadline
// and caches the verdict in $MCPVM_HOME/kernel/accel.json, keyed by kernel and QEMU version. Falling back
// to TCG prints a warning.
//
// The decision (decide_accel) only sees an AccelHost: /dev/kvm's accessibility, the cache key, the probe.
// real_accel_host() wires those to this machine; unit tests feed their own outcomes.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "vm/kernel.h"

namespace mcpvm::vm {

enum class Accel { kvm, tcg };

std::string to_string(Accel a);

// Parses "auto" / "kvm" / "tcg"; nullopt for auto. Throws Error for anything else.
std::optional<Accel> parse_accel(std::string_view s);

// What one KVM boot probe observed.
struct ProbeOutcome {
  bool booted = false;  // the probe init reported in (and the VM powered off) before the deadline
  std::chrono::milliseconds elapsed{0};
};

// KVM is worth using when the probe booted within the deadline.
bool kvm_is_usable(const ProbeOutcome& outcome, std::chrono::milliseconds deadline);

// What `auto` looks at.
struct AccelHost {
  std::function<int()> kvm_access;         // 0, or the errno of opening /dev/kvm read-write
  std::function<std::string()> cache_key;  // identifies kernel + QEMU: a verdict holds for one pair
  std::function<ProbeOutcome(std::chrono::milliseconds deadline)> probe_kvm;
  std::filesystem::path cache_file;  // JSON {key: {"accel": "kvm"|"tcg", "probe_ms": N}}
  std::chrono::milliseconds probe_deadline{5000};
};

struct AccelChoice {
  enum class Source { forced, no_kvm, cache, probe };
  Accel accel = Accel::tcg;
  Source source = Source::forced;
  std::string warning;  // for the user when falling back to TCG; empty otherwise
};

// `requested` is MCPVM_ACCEL's value (nullopt or "auto": decide). Forcing kvm without a usable /dev/kvm
// throws an Error that says what to do. A corrupt cache, or one written for another kernel/QEMU, leads to
// a new probe whose verdict is saved (a cache that cannot be written only costs a probe next time).
AccelChoice decide_accel(std::optional<std::string> requested, const AccelHost& host);

// This machine: /dev/kvm, `qemu --version` and the kernel file's identity, a real probe boot.
AccelHost real_accel_host(const KernelFiles& kernel, const std::string& qemu_binary);

// The accelerator to use for VMs of this kernel, per MCPVM_ACCEL (or `requested` if given); prints the
// choice's warning.
Accel choose_accel(const KernelFiles& kernel, const std::string& qemu_binary,
                   std::optional<std::string> requested = std::nullopt);

// Boots `kernel` with an init that powers off at once, under `accel`, within `deadline`.
ProbeOutcome probe_accel(const KernelFiles& kernel, const std::string& qemu_binary, Accel accel,
                         std::chrono::milliseconds deadline);

// The host's TSC frequency in kHz (rdtsc against CLOCK_MONOTONIC for ~20 ms), cached per host boot in
// $MCPVM_HOME/kernel/tsc.json. Debian kernels on microvm under TCG stall in TSC calibration without
// tsc_early_khz=<this> on their command line.
uint64_t host_tsc_khz();

// One measurement, uncached.
uint64_t measure_tsc_khz(std::chrono::milliseconds span = std::chrono::milliseconds(20));

}  // namespace mcpvm::vm
