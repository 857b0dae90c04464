// The OCI layer-merge rules as a decision procedure, fed one layer at a time from the TOP layer down.
//
// Walking top-down means the first visible occurrence of a path is the one the image shows, so an entry
// that an upper layer replaced, whited out or hid behind an opaque directory is known to be dead the
// moment it is read and its data never has to be written (DESIGN.md: one pass). The merger only sees
// normalised paths and entry kinds; it never reads data and never touches the file system.
//
// Rules (OCI image-spec, layer.md), with `i` the layer being read and "upper" any layer read before it:
//  - an entry is hidden when an upper layer has an entry at the same path (except that directories
//    merge: the upper directory's metadata wins, contents from both remain), when an upper layer has a
//    whiteout for the path or one of its parents, when an upper layer made a parent opaque, or when an
//    upper layer has a non-directory at one of its parents (file<->directory replacement);
//  - whiteouts and opaque markers only affect lower layers, never their own layer, wherever they sort;
//  - an entry implies its parents are directories in its own layer, even without entries for them;
//  - hard links must name a path that the final image holds as a non-directory from the same layer or a
//    lower one (not one an upper layer replaced, which would silently change the link's content).
// Conflicts inside one layer that tar extraction would resolve by order (a non-directory duplicated, an
// entry below a non-directory of its own layer such as a symlink) are rejected with an Error.
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mcpvm::rootfs {

class LayerMerger {
 public:
  enum class Verdict {
    skip,       // hidden by an upper layer: do not write
    write,      // a visible non-directory: write it now
    directory,  // a visible directory's metadata: keep it (a later entry of the same layer may replace it)
  };

  // Starts the next layer down. Layers must be fed top (last in the manifest) first.
  void begin_layer() { ++layer_; }

  Verdict add_entry(std::string_view path, bool is_directory);
  // A hard link at `path` to `target` (both normalised). The target is checked in finish().
  Verdict add_hardlink(std::string_view path, std::string_view target);
  void add_whiteout(std::string_view path);
  void add_opaque(std::string_view directory);

  // Validates what can only be checked once every layer is read (hard-link targets). Throws Error.
  void finish() const;

  // Number of distinct paths the merger tracks (visible entries plus whiteout/opaque records).
  size_t tracked_paths() const { return claims_.size(); }

 private:
  static constexpr int kNoLayer = INT_MAX;
  struct Claim {
    int owner = kNoLayer;       // layer whose entry is visible at this path (kNoLayer: none yet)
    bool directory = false;     // the visible entry is a directory (possibly implied by a child)
    bool has_metadata = false;  // a directory entry supplied its metadata (else defaults)
    int whiteout = kNoLayer;    // topmost layer with a whiteout of this path
    int opaque = kNoLayer;      // topmost layer that made this directory opaque
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct HardLink {
    std::string path, target;
    int layer;
  };

  // True when no upper layer hides `path`'s parents. Throws for a parent that is a non-directory of the
  // current layer.
  bool parents_visible(std::string_view path) const;
  // Marks every parent of `path` as a directory of the current layer unless a visible owner exists.
  void claim_parents(std::string_view path);
  const Claim* find(std::string_view path) const;
  Claim& at(std::string_view path);

  int layer_ = -1;
  std::unordered_map<std::string, Claim, StringHash, std::equal_to<>> claims_;
  std::vector<HardLink> hardlinks_;
};

}  // namespace mcpvm::rootfs
