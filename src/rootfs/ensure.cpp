#include "rootfs/ensure.h"

#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace mcpvm::rootfs {
namespace {

std::string manifest_hex(const oci::Image& image) {
  std::string_view d = image.manifest_digest;
  constexpr std::string_view kPrefix = "sha256:";
  if (!d.starts_with(kPrefix) || d.size() != kPrefix.size() + 64 ||
      d.substr(kPrefix.size()).find_first_not_of("0123456789abcdef") != std::string_view::npos)
    fail("image {}: manifest digest '{}' is not a sha256 digest", image.reference, image.manifest_digest);
  return std::string(d.substr(kPrefix.size()));
}

// Temp files of a builder that crashed (SIGKILL, power loss) for this digest. Only called with the
// digest's lock held, so no live builder owns them.
void remove_stale_temps(const fs::path& dir, const std::string& file_name) {
  std::error_code ec;
  std::string prefix = ".tmp-" + file_name + "-";
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().starts_with(prefix)) fs::remove(entry.path(), ec);
}

}  // namespace

fs::path rootfs_cache_path(const fs::path& home, const oci::Image& image) {
  return home / "rootfs" / (manifest_hex(image) + ".sqfs");
}

fs::path ensure_rootfs(const oci::Store& store, const oci::Image& image, const fs::path& home,
                       const BuildOptions& options, bool* built) {
  if (built != nullptr) *built = false;
  fs::path out = rootfs_cache_path(home, image);
  std::error_code ec;
  if (fs::is_regular_file(out, ec)) return out;  // published by rename: complete if present
  return with_context(fmt::format("building the rootfs of {}", image.reference), [&] {
    make_private_dirs(out.parent_path());
    FileLock digest_lock(out.parent_path() / (manifest_hex(image) + ".lock"));
    if (fs::is_regular_file(out, ec)) return out;  // another process finished it while we waited
    remove_stale_temps(out.parent_path(), out.filename().string());
    FileLock blobs_lock = store.lock_shared();
    std::vector<LayerSource> layers;
    for (const oci::Descriptor& d : image.layers)
      layers.push_back({store.blob_path(d.digest), d.media_type, d.digest});
    BuildStats stats = build_squashfs(layers, out, options);
    log::info("built {} ({} entries, {} bytes of files)", out.string(), stats.entries_written,
              stats.bytes_written);
    if (built != nullptr) *built = true;
    return out;
  });
}

}  // namespace mcpvm::rootfs
