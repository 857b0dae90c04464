// The VM's volumes in the guest: host directories served by QEMU's virtio-9p (docs/volumes.md).
#pragma once

#include <sys/types.h>

#include <vector>

#include "guest/config.h"

namespace mcpvm::guest {

// Mounts each volume in the image root (after switch_to_image_root and mount_late), in order, creating
// missing mount points in the overlay. Read-only volumes are mounted MS_RDONLY (the host refuses writes
// too: QEMU's readonly=on); every volume is nosuid and nodev. Throws SetupError.
void mount_volumes(const std::vector<GuestMount>& mounts);

// Makes the root of each writable volume the server user's (uid, gid), so a non-root server can create
// files in it. Under QEMU's mapped-xattr model this changes only the owner the guest sees (kept in
// user.virtfs.* xattrs of the host directory); the host owner stays the invoking user. A no-op for root.
void hand_volumes_to(const std::vector<GuestMount>& mounts, uid_t uid, gid_t gid);

}  // namespace mcpvm::guest
