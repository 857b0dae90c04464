#include "rootfs_testing.h"

#include "util/error.h"
#include "util/process.h"

namespace mcpvm::rootfs::testing {

TarEntry file(std::string path, std::string data, mode_t perm) {
  return TarEntry{.path = std::move(path), .data = std::move(data), .perm = perm};
}
TarEntry dir(std::string path, mode_t perm) {
  return TarEntry{.path = std::move(path), .type = AE_IFDIR, .perm = perm};
}
TarEntry symlink(std::string path, std::string target) {
  return TarEntry{.path = std::move(path), .type = AE_IFLNK, .link = std::move(target), .perm = 0777};
}
TarEntry hardlink(std::string path, std::string target) {
  return TarEntry{.path = std::move(path), .hardlink = std::move(target)};
}
TarEntry whiteout(std::string path) {
  return file(std::move(path), "");
}

LayerSource layer(const std::filesystem::path& blob) {
  return LayerSource{blob, "application/vnd.oci.image.layer.v1.tar+gzip",
                     "sha256:" + blob.filename().string()};
}

void write_layer(const std::filesystem::path& path, const std::vector<TarEntry>& entries,
                 Compression compression, TarFormat format) {
  std::unique_ptr<archive, int (*)(archive*)> w(archive_write_new(), archive_write_free);
  switch (format) {
    case TarFormat::pax:
      archive_write_set_format_pax_restricted(w.get());
      break;
    case TarFormat::gnu:
      archive_write_set_format_gnutar(w.get());
      break;
    case TarFormat::ustar:
      archive_write_set_format_ustar(w.get());
      break;
  }
  if (compression == Compression::gzip) archive_write_add_filter_gzip(w.get());
  if (compression == Compression::zstd) archive_write_add_filter_zstd(w.get());
  if (archive_write_open_filename(w.get(), path.c_str()) != ARCHIVE_OK)
    fail("write_layer {}: {}", path.string(), archive_error_string(w.get()));
  for (const TarEntry& t : entries) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_copy_pathname(e.get(), t.path.c_str());
    archive_entry_set_filetype(e.get(), t.type);
    archive_entry_set_perm(e.get(), t.perm);
    archive_entry_set_uid(e.get(), t.uid);
    archive_entry_set_gid(e.get(), t.gid);
    archive_entry_set_mtime(e.get(), t.mtime, 0);
    if (t.type == AE_IFLNK) archive_entry_copy_symlink(e.get(), t.link.c_str());
    if (t.type == AE_IFCHR || t.type == AE_IFBLK) archive_entry_set_rdev(e.get(), t.rdev);
    if (!t.hardlink.empty()) archive_entry_copy_hardlink(e.get(), t.hardlink.c_str());
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
    bool has_data = t.type == AE_IFREG && t.hardlink.empty();
    archive_entry_set_size(e.get(), has_data ? int64_t(t.data.size()) : 0);
    if (archive_write_header(w.get(), e.get()) < ARCHIVE_WARN)
      fail("write_layer {}: {}", t.path, archive_error_string(w.get()));
    if (has_data && !t.data.empty()) archive_write_data(w.get(), t.data.data(), t.data.size());
  }
  if (archive_write_close(w.get()) != ARCHIVE_OK) fail("write_layer: {}", archive_error_string(w.get()));
}

namespace {

std::string normalise(std::string p) {
  while (p.starts_with("./")) p.erase(0, 2);
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p.empty() || p == "." ? "." : p;
}

}  // namespace

Listing read_squashfs(const std::filesystem::path& image) {
  CommandResult tar =
      run_command({"sqfs2tar", "--no-skip", "--root-becomes", ".", image.string()}, std::chrono::minutes(2));
  if (tar.status.code() != 0) fail("sqfs2tar {}: {}", image.string(), tar.err);
  std::unique_ptr<archive, int (*)(archive*)> r(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(r.get());
  if (archive_read_open_memory(r.get(), tar.out.data(), tar.out.size()) != ARCHIVE_OK)
    fail("reading sqfs2tar output: {}", archive_error_string(r.get()));
  Listing listing;
  archive_entry* e;
  while (archive_read_next_header(r.get(), &e) == ARCHIVE_OK) {
    Node n;
    n.type = archive_entry_filetype(e);
    n.perm = archive_entry_perm(e);
    n.uid = archive_entry_uid(e);
    n.gid = archive_entry_gid(e);
    n.mtime = archive_entry_mtime(e);
    if (archive_entry_symlink(e)) n.link = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) n.hardlink = normalise(archive_entry_hardlink(e));
    n.rdev = archive_entry_rdev(e);
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
      n.xattrs[name] = std::string(static_cast<const char*>(value), size);
    char buf[65536];
    for (la_ssize_t got; (got = archive_read_data(r.get(), buf, sizeof buf)) > 0;)
      n.data.append(buf, size_t(got));
    listing[normalise(archive_entry_pathname(e))] = std::move(n);
  }
  // A hard link entry has no type or data of its own: it shares its target's.
  for (auto& [path, node] : listing) {
    if (node.hardlink.empty() || !listing.contains(node.hardlink)) continue;
    const Node& target = listing.at(node.hardlink);
    node.type = target.type;
    node.data = target.data;
  }
  return listing;
}

}  // namespace mcpvm::rootfs::testing
