#include "rootfs/merger.h"

#include <algorithm>

#include "rootfs/layer_path.h"
#include "util/error.h"

namespace mcpvm::rootfs {

const LayerMerger::Claim* LayerMerger::find(std::string_view path) const {
  auto it = claims_.find(path);
  return it == claims_.end() ? nullptr : &it->second;
}

LayerMerger::Claim& LayerMerger::at(std::string_view path) {
  auto it = claims_.find(path);
  if (it == claims_.end()) it = claims_.emplace(std::string(path), Claim{}).first;
  return it->second;
}

bool LayerMerger::parents_visible(std::string_view path) const {
  if (path.empty()) return true;  // the root has no parents
  // Parents from the root down: "", "a", "a/b" for "a/b/c".
  for (size_t end = 0; end != std::string_view::npos; end = path.find('/', end + 1)) {
    std::string_view parent = path.substr(0, end);
    const Claim* c = find(parent);
    if (c == nullptr) continue;
    if (c->whiteout < layer_ || c->opaque < layer_) return false;
    if (c->owner != kNoLayer && !c->directory) {
      if (c->owner < layer_) return false;
      fail("entry '{}': its parent '{}' is not a directory in the same layer", printable_name(path),
           printable_name(parent));
    }
  }
  return true;
}

void LayerMerger::claim_parents(std::string_view path) {
  if (path.empty()) return;
  for (size_t end = 0; end != std::string_view::npos; end = path.find('/', end + 1)) {
    Claim& c = at(path.substr(0, end));
    if (c.owner == kNoLayer) {
      c.owner = layer_;
      c.directory = true;
    }
  }
}

LayerMerger::Verdict LayerMerger::add_entry(std::string_view path, bool is_directory) {
  if (!parents_visible(path)) return Verdict::skip;
  const Claim* existing = find(path);
  if (existing != nullptr && existing->whiteout < layer_) return Verdict::skip;
  Claim& c = at(path);
  if (c.owner == kNoLayer) {
    c.owner = layer_;
    c.directory = is_directory;
    c.has_metadata = is_directory;
    claim_parents(path);
    return is_directory ? Verdict::directory : Verdict::write;
  }
  if (c.owner < layer_) {
    // Directories merge; the topmost directory entry supplies the metadata.
    if (!(c.directory && is_directory) || c.has_metadata) return Verdict::skip;
    c.has_metadata = true;
    return Verdict::directory;
  }
  // Same layer: tar order would decide; only repeated directory entries are harmless (last one wins).
  if (c.directory && is_directory) {
    c.has_metadata = true;
    return Verdict::directory;
  }
  if (c.directory) fail("entry '{}': a directory of the same layer has this name", printable_name(path));
  fail("entry '{}': appears twice in one layer", printable_name(path));
}

LayerMerger::Verdict LayerMerger::add_hardlink(std::string_view path, std::string_view target) {
  if (target.empty()) fail("hard link '{}': points at the image root", printable_name(path));
  if (target == path) fail("hard link '{}': points at itself", printable_name(path));
  Verdict v = add_entry(path, false);
  if (v == Verdict::write) hardlinks_.push_back({std::string(path), std::string(target), layer_});
  return v;
}

void LayerMerger::add_whiteout(std::string_view path) {
  if (!parents_visible(path)) return;  // an upper layer already hides everything here
  claim_parents(path);
  Claim& c = at(path);
  c.whiteout = std::min(c.whiteout, layer_);
}

void LayerMerger::add_opaque(std::string_view directory) {
  // The marker lives inside the directory: treat it as a child entry for visibility and implied parents.
  std::string marker =
      directory.empty() ? std::string(".wh..wh..opq") : std::string(directory) + "/.wh..wh..opq";
  if (!parents_visible(marker)) return;
  claim_parents(marker);
  Claim& c = at(directory);
  c.opaque = std::min(c.opaque, layer_);
}

void LayerMerger::finish() const {
  std::unordered_map<std::string_view, std::string_view> link_targets;
  for (const HardLink& link : hardlinks_) link_targets.emplace(link.path, link.target);
  for (const HardLink& link : hardlinks_) {
    // A chain of links must end at a real file; a cycle never does.
    std::string_view at_path = link.target;
    for (size_t steps = 0; link_targets.contains(at_path); ++steps) {
      if (steps > std::min<size_t>(link_targets.size(), 1000))
        fail("hard link '{}': its targets form a cycle or a chain of over 1000 links",
             printable_name(link.path));
      at_path = link_targets.at(at_path);
    }
    const Claim* t = find(link.target);
    if (t == nullptr || t->owner == kNoLayer)
      fail("hard link '{}': target '{}' is not in the image", printable_name(link.path),
           printable_name(link.target));
    if (t->directory)
      fail("hard link '{}': target '{}' is a directory", printable_name(link.path),
           printable_name(link.target));
    if (t->owner < link.layer)
      fail("hard link '{}': target '{}' was replaced by a layer above the link", printable_name(link.path),
           printable_name(link.target));
  }
}

}  // namespace mcpvm::rootfs
