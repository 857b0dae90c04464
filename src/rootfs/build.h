// Turning an image's layer blobs into the read-only squashfs the guest boots from.
//
// The layers are read with libarchive (gzip, zstd or plain tar; ustar, PAX, GNU long names and sparse
// files; a missing end-of-archive trailer is accepted) from the TOP layer down; LayerMerger decides what
// each entry becomes, so shadowed data is skipped, never written. Visible entries are streamed as one
// merged tar into squashfs-tools-ng's tar2sqfs (built on libsquashfs), which writes the image. Nothing from
// an image is ever created as a path on the host: the only file written is the squashfs itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

struct archive_entry;

namespace mcpvm::rootfs {

struct LayerSource {
  std::filesystem::path blob;  // the layer blob as stored (compressed or not)
  std::string media_type;      // for messages and a sanity check (must be a tar layer type)
  std::string digest;          // "sha256:..." for messages
};

struct BuildLimits {
  uint64_t max_uncompressed_bytes = 30ull << 30;  // decompressed tar bytes over all layers
  uint64_t max_entries = 1'000'000;               // tar entries over all layers, visible or not
  size_t max_path_bytes = 4095;                   // one entry's path (PATH_MAX - 1)
  // A layer whose decompressed size exceeds max_ratio x its compressed size, once past ratio_floor_bytes,
  // is a decompression bomb. gzip cannot exceed ~1032:1, zstd and xz can reach 10^4-10^6:1.
  uint64_t max_ratio = 1000;
  uint64_t ratio_floor_bytes = 64ull << 20;
};

struct BuildOptions {
  // Squashfs block compressor: one the guest kernel (Debian 6.1: zlib, lzo, lz4, xz, zstd) can read.
  std::string compressor = "zstd";
  // Compressor options for tar2sqfs -X ("level=9"); empty = our default for the compressor: level 3 for
  // zstd (tar2sqfs's own default, 15, took 46x longer on the 99 MB node binary for a 14% smaller image),
  // the tool's default otherwise.
  std::string compressor_options;
  unsigned jobs = 0;  // compressor threads; 0 = number of CPUs
  BuildLimits limits;
};

// What a build did, for logs and benchmarks.
struct BuildStats {
  uint64_t entries_read = 0;     // tar entries in all layers
  uint64_t entries_written = 0;  // entries in the merged image
  uint64_t bytes_read = 0;       // decompressed layer bytes
  uint64_t bytes_written = 0;    // file data handed to the squashfs writer
};

// Merges `layers` (bottom to top, as in the manifest) into a squashfs at `out`, atomically: the image is
// written to a temporary file beside `out`, fsynced and renamed, so `out` is either absent or complete.
// Throws Error naming the layer and entry for unreadable layers, hostile or conflicting entries and
// exceeded limits.
BuildStats build_squashfs(const std::vector<LayerSource>& layers, const std::filesystem::path& out,
                          const BuildOptions& options = {});

// Where the merged image goes, as tar entries with normalised paths (the squashfs writer; tests and the
// fuzz target use their own). Directories arrive last, after all other entries.
class EntrySink {
 public:
  virtual ~EntrySink() = default;
  virtual void write_header(archive_entry* entry) = 0;
  virtual void write_data(const void* data, size_t size) = 0;
};

// The merge alone (what build_squashfs streams into tar2sqfs). Throws Error like build_squashfs.
BuildStats merge_layers(const std::vector<LayerSource>& layers, EntrySink& sink,
                        const BuildOptions& options = {});

// Fuzzing entry point (tests/fuzz/rootfs_layer_fuzz.cpp, and its corpus replay under g++): merges `data`
// as a one-layer image into a sink that discards it. Returns true if accepted, false if rejected with an
// Error; anything else (a crash, another exception type) is a bug.
bool fuzz_one_layer(const uint8_t* data, size_t size);

}  // namespace mcpvm::rootfs
