// The rootfs cache: one squashfs per image manifest digest at $MCPVM_HOME/rootfs/<manifest-hex>.sqfs.
// `images` reports it, `rmi` (oci::Store::remove) deletes it, `run` boots from it.
#pragma once

#include <filesystem>

#include "oci/image.h"
#include "oci/store.h"
#include "rootfs/build.h"

namespace mcpvm::rootfs {

// The cache path of an image's rootfs (whether or not it exists).
std::filesystem::path rootfs_cache_path(const std::filesystem::path& home, const oci::Image& image);

// Returns the image's rootfs, building it first when it is not cached. Safe to call concurrently from
// several processes: builders of one digest serialise on a per-digest lock and the later ones find the
// finished file; the store's shared lock is held while layers are read so `rmi` cannot remove them.
// `built` (optional) tells whether this call built it (false: it was already cached).
std::filesystem::path ensure_rootfs(const oci::Store& store, const oci::Image& image,
                                    const std::filesystem::path& home, const BuildOptions& options = {},
                                    bool* built = nullptr);

}  // namespace mcpvm::rootfs
