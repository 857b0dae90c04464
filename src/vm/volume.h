// Volumes: host directories shared with a VM over virtio-9p (docs/volumes.md).
//
//   Volume v = parse_volume_spec("./out:/out:ro", cwd);   // -v / --volume and permission-profile entries
//   add_volume(volumes, v);                               // one mount per guest path; write upgrades read
//
// The host side (QEMU's 9p server, fsdev "local", security_model=mapped-xattr, readonly=on for read-only
// volumes) is wired by qemu_argv (vm.h); the guest init mounts each one (guest/config.h GuestMount).
// Pure functions apart from parse_volume_spec, which canonicalises the host path on this host.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "guest/config.h"

namespace mcpvm::vm {

struct Volume {
  std::filesystem::path host;  // absolute and canonical (symlinks resolved once, at `run`)
  std::string guest;           // absolute, normalised
  bool read_only = false;
};

// The most volumes a VM takes (each is one virtio-mmio device; microvm has few transports).
inline constexpr size_t kMaxVolumes = 16;

// ToolHive's syntax: "PATH" (same path in the guest), "HOST:GUEST", "HOST:GUEST:ro". A relative HOST is taken
// against cwd; HOST must be an existing directory. Throws Error (the caller names the spec in its context).
Volume parse_volume_spec(std::string_view spec, const std::filesystem::path& cwd);

// GUEST checked and normalised: absolute, no "..", not /, /proc, /sys, /dev, /mcpvm or below (the init owns
// them). Throws Error.
std::string normalize_guest_path(std::string_view guest);

// Adds v to volumes; a second volume at the same guest path merges when it shares the host directory (the
// writable one wins, as in ToolHive) and is refused otherwise. Throws Error.
void add_volume(std::vector<Volume>& volumes, const Volume& v);

// The 9p mount tag of volumes[index] ("mcpvm0", ...).
std::string volume_tag(size_t index);

// What the guest init mounts, in mount order (parents before the volumes nested in them).
std::vector<guest::GuestMount> guest_mounts(const std::vector<Volume>& volumes);

// "ro (host: QEMU 9p readonly=on; guest: MS_RDONLY)" / "rw (...)": for inspect.
std::string volume_enforcement(const Volume& v);

// Kernel modules a VM with volumes loads (9p over virtio).
const std::vector<std::string>& volume_modules();

}  // namespace mcpvm::vm
