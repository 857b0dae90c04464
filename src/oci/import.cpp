#include "oci/import.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>

#include "oci/reference.h"
#include "util/error.h"
#include "util/json_depth.h"
#include "util/sha256.h"

namespace mcpvm::oci {

namespace {

using nlohmann::json;

constexpr size_t kChunk = 256 * 1024;
constexpr size_t kMaxKeptBytes = size_t(64) << 20;  // small files a tar pass keeps in memory, in total

std::string short_digest(std::string_view digest) {
  return std::string(digest.substr(0, 19)) + "…";
}

// Where an image's files come from: an OCI layout directory or a tarball. Paths are archive-relative
// strings ("index.json", "blobs/sha256/<hex>", "<id>/layer.tar"); they never become host paths except
// below the directory the user named, opened without following symlinks.
class Source {
 public:
  virtual ~Source() = default;
  virtual bool exists(const std::string& path) = 0;
  virtual std::string read(const std::string& path, size_t max_bytes) = 0;
  // Streams each wanted path into the store as the given blob (digest and size verified).
  virtual void copy(const Store& store, const std::vector<std::pair<std::string, Descriptor>>& wanted) = 0;
};

// ---- a directory (OCI image layout) ----

class DirSource : public Source {
 public:
  explicit DirSource(const fs::path& dir) : dir_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (!dir_) fail_errno("opening {}", dir.string());
  }
  bool exists(const std::string& path) override { return bool(open(path, false)); }
  std::string read(const std::string& path, size_t max_bytes) override {
    UniqueFd fd = open(path, true);
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("reading {}", path);
      if (n == 0) return out;
      if (out.size() + size_t(n) > max_bytes) fail("{} is larger than {} bytes", path, max_bytes);
      out.append(buf, size_t(n));
    }
  }
  void copy(const Store& store, const std::vector<std::pair<std::string, Descriptor>>& wanted) override {
    std::vector<char> buf(kChunk);
    for (const auto& [path, d] : wanted) {
      if (store.has_blob(d.digest)) continue;
      with_context(fmt::format("blob {}", short_digest(d.digest)), [&] {
        UniqueFd fd = open(path, true);
        BlobWriter w = store.begin_blob(d.digest, d.size);
        for (;;) {
          ssize_t n = ::read(fd.get(), buf.data(), buf.size());
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) fail_errno("reading {}", path);
          if (n == 0) break;
          w.write(std::string_view(buf.data(), size_t(n)));
        }
        w.commit();
      });
    }
  }

 private:
  // Opens a file strictly below the directory: no symlinks anywhere on the way, no "..", regular files only.
  UniqueFd open(const std::string& path, bool required) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(int(::syscall(SYS_openat2, dir_.get(), path.c_str(), &how, sizeof how)));
    if (!fd && errno == ENOSYS)
      fd.reset(::openat(dir_.get(), path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
      if (!required) return fd;
      if (errno == ENOENT) fail("{} is missing", path);
      if (errno == ELOOP || errno == EXDEV) fail("{} is a symlink or leaves the directory: refused", path);
      fail_errno("opening {}", path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      if (!required) return UniqueFd();
      fail("{} is not a regular file", path);
    }
    return fd;
  }
  UniqueFd dir_;
};

// ---- a tarball (docker-archive, or an OCI layout packed as a tar), possibly compressed ----

std::string normalize_archive_path(std::string_view p) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view c =
        p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (c == "..") {
      if (parts.empty()) return "";  // escapes the archive: no such file
      parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.emplace_back(c);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const auto& c : parts) out += (out.empty() ? "" : "/") + c;
  return out;
}

// The compressions an archive may come in: what people compress image tarballs with. libarchive reads
// many more, but every extra decoder is attack surface for a hostile archive, and some of its filters
// run an external program (lrzip, lzop, grzip, and any decoder it was built without).
void enable_allowed_filters(archive* a) {
  struct Filter {
    const char* name;
    int (*enable)(archive*);
  };
  for (Filter f :
       {Filter{"gzip", archive_read_support_filter_gzip}, Filter{"zstd", archive_read_support_filter_zstd},
        Filter{"xz", archive_read_support_filter_xz}})
    if (f.enable(a) != ARCHIVE_OK)  // ARCHIVE_WARN: no built-in decoder, it would run a program
      fail("this libarchive has no built-in {} decoder", f.name);
}

// The name of a compression we refuse, told by the file's first bytes; empty for anything else (tar, our
// allowed compressions, or junk that the tar reader then rejects).
std::string refused_compression(std::string_view head) {
  using namespace std::string_view_literals;  // "\x5d\x00\x00"sv keeps its NULs
  static constexpr std::pair<std::string_view, std::string_view> kMagics[] = {
      {"BZh"sv, "bzip2"sv},     {"\x04\x22\x4d\x18"sv, "lz4"sv}, {"\x1f\x9d"sv, "compress"sv},
      {"LZIP"sv, "lzip"sv},     {"\x89LZO"sv, "lzop"sv},         {"LRZI"sv, "lrzip"sv},
      {"GRZipII"sv, "grzip"sv}, {"\x5d\x00\x00"sv, "lzma"sv}};
  for (const auto& [magic, name] : kMagics)
    if (head.substr(0, magic.size()) == magic) return std::string(name);
  return "";
}

void check_compression(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail_errno("opening {}", path.string());
  char head[8] = {};
  ssize_t n = ::read(fd.get(), head, sizeof head);
  if (n < 0) fail_errno("reading {}", path.string());
  std::string name = refused_compression(std::string_view(head, size_t(n)));
  if (!name.empty())
    fail("{}-compressed archives are not supported: decompress it, or compress it with gzip, zstd or xz",
         name);
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

class TarSource : public Source {
 public:
  struct Entry {
    std::string digest;  // of the content
    int64_t size = 0;
    std::string magic;  // first bytes, to tell a layer's compression
  };

  explicit TarSource(fs::path path) : path_(std::move(path)) { scan(); }

  bool exists(const std::string& path) override { return entries_.count(resolve(path)) > 0; }
  std::string read(const std::string& path, size_t max_bytes) override {
    std::string real = resolve(path);
    auto it = kept_.find(real);
    if (it != kept_.end()) {
      if (it->second.size() > max_bytes) fail("{} is larger than {} bytes", path, max_bytes);
      return it->second;
    }
    if (entries_.count(real)) fail("{} is larger than {} bytes", path, max_bytes);
    fail("{} is missing from the archive", path);
  }
  const Entry* entry(const std::string& path) {
    auto it = entries_.find(resolve(path));
    return it == entries_.end() ? nullptr : &it->second;
  }

  void copy(const Store& store, const std::vector<std::pair<std::string, Descriptor>>& wanted) override {
    std::map<std::string, Descriptor> todo;
    for (const auto& [path, d] : wanted) {
      if (store.has_blob(d.digest)) continue;
      std::string real = resolve(path);
      if (!entries_.count(real)) fail("{} is missing from the archive", path);
      todo[real] = d;
    }
    if (todo.empty()) return;
    ArchivePtr a = open_archive();
    archive_entry* e;
    std::vector<char> buf(kChunk);
    while (!todo.empty() && next_header(a.get(), &e)) {
      if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) continue;
      auto it = todo.find(normalize_archive_path(archive_entry_pathname(e)));
      if (it == todo.end()) continue;
      const Descriptor d = it->second;
      with_context(fmt::format("blob {}", short_digest(d.digest)), [&] {
        BlobWriter w = store.begin_blob(d.digest, d.size);
        for (;;) {
          la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
          if (n < 0)
            fail("{} is not a readable tar archive: {}", path_.string(), archive_error_string(a.get()));
          if (n == 0) break;
          w.write(std::string_view(buf.data(), size_t(n)));
        }
        w.commit();
      });
      todo.erase(it);
    }
    if (!todo.empty()) fail("{} changed while it was being imported", path_.string());
  }

 private:
  ArchivePtr open_archive() {
    ArchivePtr a(archive_read_new());
    enable_allowed_filters(a.get());
    archive_read_support_format_tar(a.get());  // ustar, pax and GNU tar: what docker and skopeo write
    if (archive_read_open_filename(a.get(), path_.c_str(), kChunk) != ARCHIVE_OK)
      fail("{} is not a readable tar archive: {}", path_.string(), archive_error_string(a.get()));
    return a;
  }
  bool next_header(archive* a, archive_entry** e) {
    int r = archive_read_next_header(a, e);
    if (r == ARCHIVE_EOF) return false;
    if (r < ARCHIVE_WARN)
      fail("{} is not a readable tar archive: {}", path_.string(), archive_error_string(a));
    return true;
  }
  // One pass: hash every regular file, keep the small ones, note links (resolved lexically in the archive).
  void scan() {
    ArchivePtr a = open_archive();
    archive_entry* e;
    std::vector<char> buf(kChunk);
    size_t kept_bytes = 0;
    while (next_header(a.get(), &e)) {
      std::string name = normalize_archive_path(archive_entry_pathname(e));
      if (name.empty()) continue;
      if (const char* hard = archive_entry_hardlink(e)) {
        links_[name] = normalize_archive_path(hard);
        continue;
      }
      if (archive_entry_filetype(e) == AE_IFLNK) {
        std::string dir = name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/') + 1);
        const char* target = archive_entry_symlink(e);
        links_[name] =
            normalize_archive_path(target && target[0] == '/' ? target : dir + (target ? target : ""));
        continue;
      }
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      Sha256 hash;
      Entry entry;
      std::string content;
      bool keep = true;
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0)
          fail("{} is not a readable tar archive: {}", path_.string(), archive_error_string(a.get()));
        if (n == 0) break;
        std::string_view chunk(buf.data(), size_t(n));
        hash.update(chunk);
        if (entry.magic.size() < 4) entry.magic += chunk.substr(0, 4 - entry.magic.size());
        entry.size += n;
        if (keep && content.size() + chunk.size() <= kMaxManifestBytes &&
            kept_bytes + content.size() < kMaxKeptBytes)
          content.append(chunk);
        else
          keep = false, content.clear();
      }
      entry.digest = "sha256:" + hash.hex_digest();
      if (keep) {
        kept_bytes += content.size();
        kept_[name] = std::move(content);
      }
      entries_[name] = std::move(entry);
    }
    if (entries_.empty()) fail("{} holds no files", path_.string());
  }
  std::string resolve(const std::string& path) {
    std::string p = normalize_archive_path(path);
    for (int hops = 0; hops < 16; ++hops) {
      auto it = links_.find(p);
      if (it == links_.end()) return p;
      p = it->second;
    }
    return "";
  }

  fs::path path_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> kept_;
  std::map<std::string, std::string> links_;
};

// ---- OCI image layout (in a directory or a tar) ----

std::string blob_rel_path(const std::string& digest) {
  if (!is_valid_digest(digest)) fail("invalid digest \"{}\"", digest.substr(0, 80));
  return "blobs/sha256/" + digest.substr(7);
}

// A manifest or config named by a descriptor, at most max_bytes, checked against its digest.
std::string read_verified(Source& src, const Descriptor& d, std::string_view what, size_t max_bytes) {
  if (d.size > int64_t(max_bytes))
    fail("the {} {} is larger than {} MiB", what, short_digest(d.digest), max_bytes >> 20);
  std::string body = src.read(blob_rel_path(d.digest), max_bytes);
  if ("sha256:" + Sha256::hex(body) != d.digest || int64_t(body.size()) != d.size)
    fail("the {} {} does not match its digest", what, short_digest(d.digest));
  return body;
}

// The name a layout entry gives itself: a full reference in its annotations, or none.
std::optional<std::string> layout_entry_name(const json& entry) {
  auto ann = entry.find("annotations");
  if (ann == entry.end() || !ann->is_object()) return std::nullopt;
  for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
    auto it = ann->find(key);
    if (it == ann->end() || !it->is_string()) continue;
    std::string name = it->get<std::string>();
    if (name.find('/') != std::string::npos || name.find(':') != std::string::npos) return name;
  }
  return std::nullopt;
}

std::optional<std::string> layout_entry_tag(const json& entry) {
  auto ann = entry.find("annotations");
  if (ann == entry.end() || !ann->is_object()) return std::nullopt;
  auto it = ann->find("org.opencontainers.image.ref.name");
  if (it == ann->end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// What a ref is recorded under: "name:tag", or "name@digest" for a reference without a tag.
std::string ref_key(const std::string& reference, const std::string& manifest_digest) {
  Reference ref = Reference::parse(reference);
  return ref.tag.empty() ? ref.name() + "@" + manifest_digest : ref.name() + ":" + ref.tag;
}

// An archive names itself, so a hostile one could take over a ref the user relies on ("python:3"):
// an existing ref only moves to another image on request.
[[noreturn]] void fail_ref_moved(const std::string& key, const std::string& old_digest,
                                 const std::string& new_digest) {
  fail("{} already points at {}, this image is {}: give --replace to re-point it", key,
       short_digest(old_digest), short_digest(new_digest));
}

// The early check, before any blob is copied (store_image checks again under the refs lock).
void check_ref_not_moved(const Store& store, const std::string& key, const std::string& manifest_digest,
                         const ImportOptions& options) {
  if (options.replace) return;
  for (const StoredRef& r : store.refs())
    if (r.reference == key && r.digest != manifest_digest) fail_ref_moved(key, r.digest, manifest_digest);
}

Image store_image(const Store& store, const std::string& manifest_digest, std::string_view manifest_body,
                  const std::string& key, const ImportOptions& options) {
  store.put_blob(manifest_digest, manifest_body);
  if (options.replace)
    store.set_ref(key, manifest_digest);
  else if (auto old = store.add_ref(key, manifest_digest))
    fail_ref_moved(key, *old, manifest_digest);
  return store.load_image(manifest_digest, key);
}

void check_config(std::string_view config_body, const Manifest& m, const Platform& platform,
                  std::vector<std::string>* diff_ids_out = nullptr) {
  ImageConfig config;
  std::vector<std::string> diff_ids;
  parse_config(config_body, config, diff_ids);
  if (!config.os.empty() && (config.os != platform.os || config.architecture != platform.architecture))
    fail("the image is for {}/{}, not {}", config.os, config.architecture, platform.str());
  if (!diff_ids.empty() && diff_ids.size() != m.layers.size())
    fail("the image config lists {} layers but the manifest {}", diff_ids.size(), m.layers.size());
  if (diff_ids_out) *diff_ids_out = diff_ids;
}

std::vector<Image> import_layout(const Store& store, Source& src, const ImportOptions& options) {
  json layout = parse_untrusted_json(src.read("oci-layout", 64 * 1024));
  if (layout.is_discarded() || !layout.is_object() || !layout.contains("imageLayoutVersion"))
    fail("oci-layout is not a valid OCI layout marker");
  json index = parse_untrusted_json(src.read("index.json", kMaxManifestBytes));
  if (index.is_discarded() || !index.is_object() || !index["manifests"].is_array())
    fail("index.json is not a valid OCI index");
  Index parsed = with_context("index.json", [&] { return parse_index(index.dump()); });
  if (parsed.manifests.empty()) fail("index.json lists no images");

  std::vector<size_t> chosen;
  for (size_t i = 0; i < parsed.manifests.size(); ++i) chosen.push_back(i);
  if (options.tag && chosen.size() > 1) {
    // Several images: the one whose own tag matches the requested tag's.
    Reference want = Reference::parse(*options.tag);
    std::erase_if(chosen, [&](size_t i) { return layout_entry_tag(index["manifests"][i]) != want.tag; });
    if (chosen.size() != 1)
      fail("the layout holds {} images: tag one of them (org.opencontainers.image.ref.name) as {}",
           parsed.manifests.size(), want.tag);
  }
  std::vector<Image> images;
  for (size_t i : chosen) {
    const json& entry = index["manifests"][i];
    std::string name;
    if (options.tag)
      name = *options.tag;
    else if (auto n = layout_entry_name(entry))
      name = *n;
    else
      fail("the layout's image {} has no full name{}: give --tag REF",
           short_digest(parsed.manifests[i].descriptor.digest),
           layout_entry_tag(entry) ? fmt::format(" (only the tag \"{}\")", *layout_entry_tag(entry)) : "");
    Descriptor d = parsed.manifests[i].descriptor;
    std::string body = read_verified(src, d, "manifest", kMaxManifestBytes);
    if (classify_manifest(d.media_type, body) == ManifestKind::index) {
      Index nested = parse_index(body);
      d = choose_platform(nested, options.platform).descriptor;
      body = read_verified(src, d, "manifest", kMaxManifestBytes);
    }
    Manifest m = parse_manifest(body);
    std::string config_body = read_verified(src, m.config, "config", kMaxConfigBytes);
    check_config(config_body, m, options.platform);
    std::string key = ref_key(name, d.digest);
    check_ref_not_moved(store, key, d.digest, options);
    store.put_blob(m.config.digest, config_body);
    std::vector<std::pair<std::string, Descriptor>> wanted;
    for (const Descriptor& l : m.layers) wanted.emplace_back(blob_rel_path(l.digest), l);
    src.copy(store, wanted);
    images.push_back(store_image(store, d.digest, body, key, options));
  }
  return images;
}

// ---- docker-archive (manifest.json + config + layer tars) ----

std::string docker_layer_media_type(const std::string& magic) {
  if (magic.size() >= 2 && uint8_t(magic[0]) == 0x1f && uint8_t(magic[1]) == 0x8b)
    return "application/vnd.docker.image.rootfs.diff.tar.gzip";
  if (magic == std::string("\x28\xb5\x2f\xfd", 4)) return "application/vnd.docker.image.rootfs.diff.tar.zstd";
  return "application/vnd.docker.image.rootfs.diff.tar";
}

std::vector<Image> import_docker_archive(const Store& store, TarSource& src, const ImportOptions& options) {
  json list = parse_untrusted_json(src.read("manifest.json", kMaxManifestBytes));
  if (list.is_discarded() || !list.is_array() || list.empty())
    fail("manifest.json is not a docker-archive manifest");
  if (options.tag && list.size() > 1)
    fail("the archive holds {} images: import it without --tag", list.size());
  std::vector<Image> images;
  for (const json& item : list) {
    if (!item.is_object() || !item["Config"].is_string() || !item["Layers"].is_array())
      fail("manifest.json is not a docker-archive manifest");
    std::string name;
    if (options.tag)
      name = *options.tag;
    else if (item["RepoTags"].is_array() && !item["RepoTags"].empty() && item["RepoTags"][0].is_string())
      name = item["RepoTags"][0];
    else
      fail("the archive's image has no RepoTags: give --tag REF");

    std::string config_path = item["Config"];
    std::string config_body = src.read(config_path, kMaxConfigBytes);
    Manifest m;
    m.media_type = media::docker_manifest;
    m.config = {std::string(media::docker_config), "sha256:" + Sha256::hex(config_body),
                int64_t(config_body.size())};
    std::vector<std::pair<std::string, Descriptor>> wanted;
    for (const json& l : item["Layers"]) {
      if (!l.is_string()) fail("manifest.json is not a docker-archive manifest");
      const TarSource::Entry* e = src.entry(l.get<std::string>());
      if (!e) fail("layer {} is missing from the archive", l.get<std::string>());
      Descriptor d{docker_layer_media_type(e->magic), e->digest, e->size};
      m.layers.push_back(d);
      wanted.emplace_back(l.get<std::string>(), d);
    }
    if (m.layers.empty()) fail("the archive's image has no layers");
    std::vector<std::string> diff_ids;
    check_config(config_body, m, options.platform, &diff_ids);
    for (size_t i = 0; i < m.layers.size() && i < diff_ids.size(); ++i)
      if (layer_compression(m.layers[i].media_type) == Compression::none && m.layers[i].digest != diff_ids[i])
        fail("layer {} does not match the config's diff_id", short_digest(m.layers[i].digest));
    json manifest = {
        {"schemaVersion", 2},
        {"mediaType", m.media_type},
        {"config",
         {{"mediaType", m.config.media_type}, {"size", m.config.size}, {"digest", m.config.digest}}},
        {"layers", json::array()}};
    for (const Descriptor& l : m.layers)
      manifest["layers"].push_back({{"mediaType", l.media_type}, {"size", l.size}, {"digest", l.digest}});
    std::string body = manifest.dump();
    std::string digest = "sha256:" + Sha256::hex(body);
    std::string key = ref_key(name, digest);
    check_ref_not_moved(store, key, digest, options);
    store.put_blob(m.config.digest, config_body);
    src.copy(store, wanted);
    images.push_back(store_image(store, digest, body, key, options));
  }
  return images;
}

}  // namespace

std::vector<Image> import_image(const Store& store, const fs::path& path, const ImportOptions& options) {
  return with_context(fmt::format("importing {}", path.string()), [&] {
    if (options.tag) Reference::parse(*options.tag);  // a bad --tag fails before any work
    std::error_code ec;
    if (!fs::exists(path, ec)) fail("no such file or directory");
    make_private_dirs(store.home());
    FileLock lock = store.lock_shared();
    if (fs::is_directory(path, ec)) {
      DirSource src(path);
      if (!src.exists("oci-layout") || !src.exists("index.json"))
        fail("the directory is not an OCI image layout (no oci-layout and index.json)");
      return import_layout(store, src, options);
    }
    check_compression(path);
    std::unique_ptr<TarSource> src;
    try {
      src = std::make_unique<TarSource>(path);
    } catch (const Error& e) {
      fail("not an image: {}", e.what());
    }
    if (src->exists("manifest.json")) return import_docker_archive(store, *src, options);
    if (src->exists("oci-layout") && src->exists("index.json")) return import_layout(store, *src, options);
    fail("not an image: the archive has neither a docker manifest.json nor an OCI index.json");
  });
}

}  // namespace mcpvm::oci
