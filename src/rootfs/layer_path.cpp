#include "rootfs/layer_path.h"

#include "util/error.h"

namespace mcpvm::rootfs {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

}  // namespace

std::string printable_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += char(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (name.size() > 200) out += "...";
  return out;
}

std::string normalize_entry_path(std::string_view raw, size_t max_path_bytes) {
  std::string out;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t slash = raw.find('/', pos);
    if (slash == std::string_view::npos) slash = raw.size();
    std::string_view component = raw.substr(pos, slash - pos);
    pos = slash + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") fail("entry '{}': '..' would leave the image", printable_name(raw));
    if (component.size() > kMaxComponentBytes)
      fail("entry '{}': a name component is {} bytes (limit {})", printable_name(raw), component.size(),
           kMaxComponentBytes);
    if (!out.empty()) out += '/';
    out += component;
    if (out.size() > max_path_bytes)
      fail("entry '{}': path longer than {} bytes", printable_name(raw), max_path_bytes);
  }
  return out;
}

std::string_view parent_path_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

LayerName classify_layer_name(std::string path) {
  std::string_view dir = parent_path_of(path);
  std::string_view base = std::string_view(path).substr(dir.empty() ? 0 : dir.size() + 1);
  // A whiteout is a leaf marker; one used as a directory is malformed.
  for (size_t pos = 0; pos < dir.size();) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string_view::npos) slash = dir.size();
    if (dir.substr(pos, slash - pos).starts_with(kWhiteoutPrefix))
      fail("entry '{}': a whiteout name is used as a directory", printable_name(path));
    pos = slash + 1;
  }
  if (base == kOpaqueMarker) return {LayerName::Kind::opaque, std::string(dir)};
  if (base.starts_with(kMetaPrefix)) return {LayerName::Kind::ignored, std::move(path)};
  if (!base.starts_with(kWhiteoutPrefix)) return {LayerName::Kind::entry, std::move(path)};
  std::string_view target = base.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..")
    fail("entry '{}': whiteout of '{}' names nothing in the image", printable_name(path),
         printable_name(target));
  std::string hidden = dir.empty() ? std::string(target) : fmt::format("{}/{}", dir, target);
  return {LayerName::Kind::whiteout, std::move(hidden)};
}

}  // namespace mcpvm::rootfs
