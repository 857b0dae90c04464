// Names inside a layer tarball, as the OCI layer spec interprets them: normalisation of an entry's path
// and recognition of whiteouts. Pure string logic: nothing here ever touches the host file system.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mcpvm::rootfs {

// Limits that apply to one name (Linux NAME_MAX / PATH_MAX, which squashfs and the guest kernel share).
inline constexpr size_t kMaxComponentBytes = 255;
inline constexpr size_t kDefaultMaxPathBytes = 4095;

// Turns a tar entry name into the canonical in-image path: no leading "/" or "./", no empty or "."
// components, no trailing "/". The image root is "". Throws Error for ".." components (a path that
// would escape the image), for components longer than 255 bytes and for paths longer than max_path_bytes.
std::string normalize_entry_path(std::string_view raw, size_t max_path_bytes = kDefaultMaxPathBytes);

// What an entry's (normalised) path means in a layer.
struct LayerName {
  enum class Kind {
    entry,     // an ordinary file, directory, link or device at `path`
    whiteout,  // ".wh.NAME": hides `path` (= dir/NAME) and everything below it in lower layers
    opaque,    // ".wh..wh..opq": hides everything lower layers have inside the directory `path`
    ignored,   // ".wh..wh.*" (AUFS bookkeeping such as .wh..wh.plnk): not part of the image
  };
  Kind kind = Kind::entry;
  std::string path;
};

// Classifies a normalised path. Throws Error for whiteouts that name nothing ("" / "." / ".."), and for
// whiteout names used as a parent directory ("a/.wh.b/c").
LayerName classify_layer_name(std::string path);

// Shows an image path in an error message: escapes control bytes and non-ASCII bytes (so a hostile name
// cannot forge output lines or terminal escapes) and truncates very long names.
std::string printable_name(std::string_view name);

// "a/b/c" -> "a/b"; "a" -> "" (the root).
std::string_view parent_path_of(std::string_view path);

}  // namespace mcpvm::rootfs
