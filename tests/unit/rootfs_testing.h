// Test helpers for the rootfs builder: writing synthetic layer tarballs (libarchive) and reading back what
// a squashfs holds (sqfs2tar -> libarchive), so tests compare structured listings, not tool output text.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rootfs/build.h"

namespace mcpvm::rootfs::testing {

// One entry of a layer to write. Defaults: regular file 0644 root:root, mtime 1000.
struct TarEntry {
  std::string path;
  mode_t type = AE_IFREG;
  std::string data;      // file content
  std::string link;      // symlink target
  std::string hardlink;  // hard link target (type ignored when set)
  mode_t perm = 0644;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1000;
  dev_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

enum class Compression { none, gzip, zstd };
enum class TarFormat { pax, gnu, ustar };

// Writes entries as a tar layer at `path` (exactly in the given order, duplicates allowed).
void write_layer(const std::filesystem::path& path, const std::vector<TarEntry>& entries,
                 Compression compression = Compression::gzip, TarFormat format = TarFormat::pax);

// Convenience constructors.
TarEntry file(std::string path, std::string data, mode_t perm = 0644);
TarEntry dir(std::string path, mode_t perm = 0755);
TarEntry symlink(std::string path, std::string target);
TarEntry hardlink(std::string path, std::string target);
TarEntry whiteout(std::string path);  // path is the whiteout file itself, e.g. "a/.wh.b"

// What one path in a squashfs is.
struct Node {
  mode_t type = 0;
  mode_t perm = 0;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 0;
  std::string data;      // regular files
  std::string link;      // symlink target
  std::string hardlink;  // set when sqfs2tar emitted this entry as a hard link to another path
  dev_t rdev = 0;
  std::map<std::string, std::string> xattrs;
};
using Listing = std::map<std::string, Node>;  // by path, root is "."

// Reads a squashfs back through sqfs2tar. Paths are normalised ("a/b", root ".").
Listing read_squashfs(const std::filesystem::path& image);

// A layer source for a file in a test directory.
LayerSource layer(const std::filesystem::path& blob);

}  // namespace mcpvm::rootfs::testing
