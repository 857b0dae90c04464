#include "rootfs/build.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <optional>

#include "rootfs/layer_path.h"
#include "rootfs/merger.h"
#include "rootfs/squashfs_sink.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace mcpvm::rootfs {
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

constexpr size_t kChunk = 256 * 1024;

// A directory's metadata, kept until every layer is read: a later entry of the same layer may replace it,
// and tar2sqfs accepts a directory's attributes after its children.
struct DirectoryMeta {
  mode_t mode = 0;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 0;
  long mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

DirectoryMeta directory_meta(archive_entry* e) {
  DirectoryMeta m{archive_entry_perm(e), archive_entry_uid(e), archive_entry_gid(e), archive_entry_mtime(e),
                  archive_entry_mtime_nsec(e)};
  archive_entry_xattr_reset(e);
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    m.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
  return m;
}

// Tracks the limits over all layers of one build.
class Budget {
 public:
  Budget(const BuildLimits& limits, BuildStats& stats) : limits_(limits), stats_(stats) {}

  void start_layer() { layer_base_ = stats_.bytes_read; }
  void count_entry() {
    if (++stats_.entries_read > limits_.max_entries)
      fail("more than {} entries in the image's layers (limit max_entries)", limits_.max_entries);
  }
  // Called often while a layer is read: checks decompressed bytes and the compression ratio.
  void check(archive* reader) {
    int64_t raw = archive_filter_bytes(reader, -1);
    int64_t plain = archive_filter_bytes(reader, 0);
    stats_.bytes_read = layer_base_ + uint64_t(std::max<int64_t>(plain, 0));
    if (stats_.bytes_read > limits_.max_uncompressed_bytes)
      fail("layers decompress to more than {} bytes (limit max_uncompressed_bytes)",
           limits_.max_uncompressed_bytes);
    if (uint64_t(plain) > limits_.ratio_floor_bytes && raw > 0 &&
        uint64_t(plain) / uint64_t(raw) > limits_.max_ratio)
      fail("decompression bomb: {} bytes from {} compressed (ratio above {}:1)", plain, raw,
           limits_.max_ratio);
  }
  void count_written(uint64_t bytes) {
    stats_.bytes_written += bytes;
    if (stats_.bytes_written > limits_.max_uncompressed_bytes)
      fail("files total more than {} bytes (limit max_uncompressed_bytes)", limits_.max_uncompressed_bytes);
  }

 private:
  const BuildLimits& limits_;
  BuildStats& stats_;
  uint64_t layer_base_ = 0;
};

ArchivePtr open_layer(const LayerSource& layer) {
  if (layer.media_type.find("tar") == std::string::npos)
    fail("media type '{}' is not a tar layer", layer.media_type);
  ArchivePtr reader(archive_read_new(), archive_read_free);
  if (!reader) fail("archive_read_new: out of memory");
  archive* r = reader.get();
  // Only what OCI and Docker layers use: tar (ustar/PAX/GNU), plain, gzip or zstd.
  archive_read_support_format_tar(r);
  archive_read_support_filter_gzip(r);
  archive_read_support_filter_zstd(r);
  if (archive_read_open_filename(r, layer.blob.c_str(), kChunk) != ARCHIVE_OK)
    fail("opening {}: {}", layer.blob.string(), archive_error_string(r));
  return reader;
}

class Builder {
 public:
  Builder(EntrySink& sink, const BuildOptions& options, BuildStats& stats)
      : sink_(sink), options_(options), stats_(stats), budget_(options.limits, stats) {}

  void read_layer(const LayerSource& layer) {
    ArchivePtr reader = open_layer(layer);
    archive* r = reader.get();
    merger_.begin_layer();
    budget_.start_layer();
    buffer_.resize(kChunk);
    for (;;) {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(r, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) fail("not a readable tar layer: {}", archive_error_string(r));
      budget_.count_entry();
      budget_.check(r);
      read_entry(r, entry);
      budget_.check(r);
    }
  }

  void finish() {
    merger_.finish();
    for (const auto& [path, meta] : directories_) write_directory(path, meta);
  }

 private:
  void read_entry(archive* r, archive_entry* entry) {
    const char* raw = archive_entry_pathname(entry);
    if (raw == nullptr) fail("an entry has an empty or unreadable name");
    std::string path = normalize_entry_path(raw, options_.limits.max_path_bytes);
    LayerName name = classify_layer_name(std::move(path));
    switch (name.kind) {
      case LayerName::Kind::whiteout:
        merger_.add_whiteout(name.path);
        return drain(r);
      case LayerName::Kind::opaque:
        merger_.add_opaque(name.path);
        return drain(r);
      case LayerName::Kind::ignored:
        return drain(r);
      case LayerName::Kind::entry:
        break;
    }
    with_context(fmt::format("entry '{}'", printable_name(name.path)),
                 [&] { read_visible(r, entry, name.path); });
  }

  void read_visible(archive* r, archive_entry* entry, const std::string& path) {
    const char* hardlink = archive_entry_hardlink(entry);
    if (hardlink != nullptr) {
      std::string target = normalize_entry_path(hardlink, options_.limits.max_path_bytes);
      if (merger_.add_hardlink(path, target) == LayerMerger::Verdict::write)
        write_hardlink(entry, path, target);
      return drain(r);
    }
    mode_t type = archive_entry_filetype(entry);
    switch (type) {
      case AE_IFREG:
      case AE_IFLNK:
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
      case AE_IFDIR:
        break;
      default:
        fail("unsupported entry type {:o}", unsigned(type));
    }
    if (path.empty() && type != AE_IFDIR) fail("the image root is not a directory");
    switch (merger_.add_entry(path, type == AE_IFDIR)) {
      case LayerMerger::Verdict::skip:
        return drain(r);
      case LayerMerger::Verdict::directory:
        directories_[path] = directory_meta(entry);
        return;
      case LayerMerger::Verdict::write:
        return write_entry(r, entry, path, type);
    }
  }

  void write_entry(archive* r, archive_entry* entry, const std::string& path, mode_t type) {
    EntryPtr out(archive_entry_clone(entry), archive_entry_free);
    archive_entry_copy_pathname(out.get(), path.c_str());
    archive_entry_sparse_clear(out.get());
    archive_entry_unset_atime(out.get());
    archive_entry_unset_ctime(out.get());
    archive_entry_unset_birthtime(out.get());
    if (type != AE_IFREG) archive_entry_set_size(out.get(), 0);
    sink_.write_header(out.get());
    ++stats_.entries_written;
    if (type == AE_IFREG)
      copy_data(r, archive_entry_size(entry));
    else
      drain(r);
  }

  void write_hardlink(archive_entry* entry, const std::string& path, const std::string& target) {
    EntryPtr out(archive_entry_clone(entry), archive_entry_free);
    archive_entry_copy_pathname(out.get(), path.c_str());
    archive_entry_copy_hardlink(out.get(), target.c_str());
    archive_entry_sparse_clear(out.get());
    archive_entry_set_size(out.get(), 0);
    sink_.write_header(out.get());
    ++stats_.entries_written;
  }

  void write_directory(const std::string& path, const DirectoryMeta& m) {
    EntryPtr out(archive_entry_new(), archive_entry_free);
    archive_entry_copy_pathname(out.get(), path.empty() ? "./" : path.c_str());
    archive_entry_set_filetype(out.get(), AE_IFDIR);
    archive_entry_set_perm(out.get(), m.mode);
    archive_entry_set_uid(out.get(), m.uid);
    archive_entry_set_gid(out.get(), m.gid);
    archive_entry_set_mtime(out.get(), m.mtime, m.mtime_nsec);
    for (const auto& [name, value] : m.xattrs)
      archive_entry_xattr_add_entry(out.get(), name.c_str(), value.data(), value.size());
    sink_.write_header(out.get());
    ++stats_.entries_written;
  }

  // Copies a regular file's data (holes of sparse files arrive as zeros), exactly `size` bytes.
  void copy_data(archive* r, int64_t size) {
    budget_.count_written(uint64_t(std::max<int64_t>(size, 0)));
    int64_t copied = 0;
    for (;;) {
      la_ssize_t n = archive_read_data(r, buffer_.data(), buffer_.size());
      if (n < 0) fail("reading data: {}", archive_error_string(r));
      if (n == 0) break;
      sink_.write_data(buffer_.data(), size_t(n));
      copied += n;
      budget_.check(r);
    }
    if (copied != size) fail("data is {} bytes, header says {}", copied, size);
  }

  // Consumes an entry's data without writing it. Reading (rather than seeking) lets the budget see every
  // decompressed chunk, so a hidden entry cannot be a decompression bomb either.
  void drain(archive* r) {
    for (;;) {
      la_ssize_t n = archive_read_data(r, buffer_.data(), buffer_.size());
      if (n < 0) fail("reading data: {}", archive_error_string(r));
      if (n == 0) return;
      budget_.check(r);
    }
  }

  EntrySink& sink_;
  const BuildOptions& options_;
  BuildStats& stats_;
  Budget budget_;
  LayerMerger merger_;
  std::map<std::string, DirectoryMeta> directories_;
  std::vector<char> buffer_;
};

class DiscardingSink : public EntrySink {
 public:
  void write_header(archive_entry*) override {}
  void write_data(const void*, size_t) override {}
};

}  // namespace

BuildStats merge_layers(const std::vector<LayerSource>& layers, EntrySink& sink,
                        const BuildOptions& options) {
  BuildStats stats;
  Builder builder(sink, options, stats);
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer)
    with_context(fmt::format("layer {}", layer->digest), [&] { builder.read_layer(*layer); });
  builder.finish();
  return stats;
}

bool fuzz_one_layer(const uint8_t* data, size_t size) {
  UniqueFd blob(::memfd_create("fuzz-layer", MFD_CLOEXEC));
  if (!blob) fail_errno("memfd_create");
  write_all(blob.get(), std::string_view(reinterpret_cast<const char*>(data), size));
  LayerSource layer{fmt::format("/proc/self/fd/{}", blob.get()), "application/vnd.oci.image.layer.v1.tar",
                    "fuzz"};
  BuildOptions options;
  options.limits.max_uncompressed_bytes = 64 << 20;  // keep each input cheap
  DiscardingSink sink;
  try {
    merge_layers({layer}, sink, options);
    return true;
  } catch (const Error&) {
    return false;
  }
}

BuildStats build_squashfs(const std::vector<LayerSource>& layers, const std::filesystem::path& out,
                          const BuildOptions& options) {
  return with_context(fmt::format("building {}", out.string()), [&] {
    AtomicFile file(out, 0600);
    SquashfsSink sink(file.temp_path(), options);
    BuildStats stats = merge_layers(layers, sink, options);
    sink.finish();
    // tar2sqfs truncated and rewrote the temp file in place; commit() fsyncs and renames that inode.
    struct stat by_fd {
    }, by_path{};
    if (::fstat(file.fd(), &by_fd) != 0 || ::stat(file.temp_path().c_str(), &by_path) != 0 ||
        by_fd.st_ino != by_path.st_ino)
      fail("tar2sqfs replaced its output file instead of writing it");
    file.commit();
    log::debug("rootfs {}: {} entries read, {} written, {} bytes", out.string(), stats.entries_read,
               stats.entries_written, stats.bytes_written);
    return stats;
  });
}

}  // namespace mcpvm::rootfs
