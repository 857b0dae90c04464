#include "oci/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include "oci/manifest.h"
#include "oci/reference.h"
#include "util/error.h"
#include "util/log.h"

namespace mcpvm::oci {

namespace {

using nlohmann::json;

std::string hex_of(std::string_view digest) {
  if (!is_valid_digest(digest)) fail("invalid digest \"{}\"", digest.substr(0, 80));
  return std::string(digest.substr(7));
}

const fs::path& created_dir(const fs::path& dir) {
  make_private_dirs(dir);
  return dir;
}

std::string now_rfc3339() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool is_hex_prefix(std::string_view s) {
  return s.size() >= 12 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

// ---- BlobWriter ----

BlobWriter::BlobWriter(const fs::path& blob_dir, std::string expected_digest, int64_t expected_size)
    : expected_digest_(std::move(expected_digest)),
      expected_size_(expected_size),
      file_(created_dir(blob_dir) / hex_of(expected_digest_)) {}

void BlobWriter::write(std::string_view data) {
  if (written_ + int64_t(data.size()) > expected_size_)
    fail("is larger than the {} bytes its descriptor says", expected_size_);
  hasher_.update(data);
  file_.write(data);
  written_ += int64_t(data.size());
}

void BlobWriter::commit() {
  if (written_ != expected_size_) fail("is truncated: got {} of {} bytes", written_, expected_size_);
  if ("sha256:" + hasher_.hex_digest() != expected_digest_) fail("does not match its digest");
  file_.commit();
}

// ---- Lock ----

FileLock Store::lock_shared() const {
  make_private_dirs(home_);
  return FileLock(home_ / "oci.lock", FileLock::Mode::shared);
}
FileLock Store::lock_exclusive() const {
  make_private_dirs(home_);
  return FileLock(home_ / "oci.lock", FileLock::Mode::exclusive);
}

// ---- Store ----

Store::Store(fs::path home) : home_(std::move(home)) {}

fs::path Store::blob_path(std::string_view digest) const {
  fs::path p = blob_dir() / hex_of(digest);
  if (!fs::is_regular_file(p)) fail("blob {} is not in the store", digest);
  return p;
}

bool Store::has_blob(std::string_view digest) const {
  std::error_code ec;
  return is_valid_digest(digest) && fs::is_regular_file(blob_dir() / hex_of(digest), ec);
}

std::string Store::read_blob(std::string_view digest, size_t max_bytes) const {
  return read_file(blob_path(digest), max_bytes);
}

BlobWriter Store::begin_blob(const std::string& digest, int64_t size) const {
  return BlobWriter(blob_dir(), digest, size);
}

uint64_t Store::free_bytes() const {
  struct statvfs st {};
  if (::statvfs(home_.c_str(), &st) != 0) fail_errno("checking the free space in {}", home_.string());
  return uint64_t(st.f_bavail) * st.f_frsize;
}

void Store::put_blob(const std::string& digest, std::string_view data) const {
  if (has_blob(digest)) return;
  BlobWriter w = begin_blob(digest, int64_t(data.size()));
  w.write(data);
  w.commit();
}

fs::path Store::rootfs_path(std::string_view manifest_digest) const {
  return home_ / "rootfs" / (hex_of(manifest_digest) + ".sqfs");
}

std::vector<StoredRef> Store::refs() const {
  fs::path file = home_ / "refs.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  json doc = json::parse(read_file(file), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc["refs"].is_object())
    fail("{} is corrupt: remove it and pull again", file.string());
  std::vector<StoredRef> out;
  for (auto& [ref, v] : doc["refs"].items())
    out.push_back({ref, v.value("digest", std::string()), v.value("added", std::string())});
  return out;
}

namespace {
void write_refs(const fs::path& home, const std::vector<StoredRef>& refs) {
  json doc = {{"refs", json::object()}};
  for (const StoredRef& r : refs) doc["refs"][r.reference] = {{"digest", r.digest}, {"added", r.added}};
  write_file_atomic(home / "refs.json", doc.dump(2) + "\n");
}
}  // namespace

void Store::set_ref(const std::string& reference, const std::string& manifest_digest) const {
  make_private_dirs(home_);
  FileLock lock(home_ / "refs.lock");
  std::vector<StoredRef> all = refs();
  std::erase_if(all, [&](const StoredRef& r) { return r.reference == reference; });
  all.push_back({reference, manifest_digest, now_rfc3339()});
  write_refs(home_, all);
}

std::optional<std::string> Store::add_ref(const std::string& reference,
                                          const std::string& manifest_digest) const {
  make_private_dirs(home_);
  FileLock lock(home_ / "refs.lock");
  std::vector<StoredRef> all = refs();
  for (const StoredRef& r : all)
    if (r.reference == reference)
      return r.digest == manifest_digest ? std::nullopt : std::optional<std::string>(r.digest);
  all.push_back({reference, manifest_digest, now_rfc3339()});
  write_refs(home_, all);
  return std::nullopt;
}

std::optional<StoredRef> Store::find_ref(std::string_view query) const {
  std::vector<StoredRef> all = refs();
  for (const StoredRef& r : all)
    if (r.reference == query) return r;
  if (is_valid_digest(query)) {
    for (const StoredRef& r : all)
      if (r.digest == query) return r;
    return std::nullopt;
  }
  if (is_hex_prefix(query)) {
    std::optional<StoredRef> found;
    for (const StoredRef& r : all) {
      if (r.digest.compare(7, query.size(), query) != 0) continue;
      if (found && found->digest != r.digest)
        fail("\"{}\" matches more than one image: give more digits", query);
      found = r;
    }
    if (found) return found;
  }
  Reference ref = Reference::parse(query);
  std::string key = ref.store_key();
  for (const StoredRef& r : all) {
    // "name@digest" was recorded as given; "name:tag@digest" must still point at that digest.
    if (r.reference == key && (ref.tag.empty() || ref.digest.empty() || r.digest == ref.digest)) return r;
  }
  if (!ref.digest.empty())
    for (const StoredRef& r : all)
      if (r.digest == ref.digest && r.reference.rfind(ref.name() + (ref.tag.empty() ? "" : ":"), 0) == 0)
        return StoredRef{ref.str(), r.digest, r.added};
  return std::nullopt;
}

Image Store::load_image(const std::string& manifest_digest, const std::string& reference) const {
  return with_context(fmt::format("image {}", reference), [&] {
    Image image;
    image.reference = reference;
    image.manifest_digest = manifest_digest;
    Manifest m = parse_manifest(read_blob(manifest_digest, kMaxManifestBytes));
    image.config_descriptor = m.config;
    image.layers = m.layers;
    parse_config(read_blob(m.config.digest, kMaxConfigBytes), image.config, image.diff_ids);
    for (const Descriptor& l : image.layers) blob_path(l.digest);  // every layer must be present
    return image;
  });
}

Image Store::resolve(std::string_view ref_or_digest) const {
  std::optional<StoredRef> found = find_ref(ref_or_digest);
  if (!found) fail("image {} not found: pull or import it first", ref_or_digest);
  return load_image(found->digest, found->reference);
}

std::vector<StoredRef> Store::remove(std::string_view ref_or_digest) const {
  FileLock gc_lock = lock_exclusive();  // no pull or import is between writing blobs and its ref now
  std::vector<StoredRef> removed;
  {
    FileLock lock(home_ / "refs.lock");
    std::optional<StoredRef> found = find_ref(ref_or_digest);
    if (!found) fail("image {} not found", ref_or_digest);
    bool by_digest =
        is_valid_digest(ref_or_digest) || (is_hex_prefix(ref_or_digest) && found->reference != ref_or_digest);
    std::vector<StoredRef> all = refs();
    std::vector<StoredRef> kept;
    for (StoredRef& r : all) {
      bool match = by_digest ? r.digest == found->digest : r.reference == found->reference;
      (match ? removed : kept).push_back(std::move(r));
    }
    write_refs(home_, kept);
  }
  // Garbage collection: keep what the remaining refs need, delete everything else (and stale temp files).
  std::set<std::string> needed_manifests, needed_hex;
  for (const StoredRef& r : refs()) {
    needed_manifests.insert(r.digest);
    needed_hex.insert(r.digest.substr(7));
    try {
      Manifest m = parse_manifest(read_blob(r.digest, kMaxManifestBytes));
      needed_hex.insert(m.config.digest.substr(7));
      for (const Descriptor& l : m.layers) needed_hex.insert(l.digest.substr(7));
    } catch (const Error& e) {
      log::warn("keeping blobs of {}: {}", r.reference, e.what());
    }
  }
  std::error_code ec;
  if (fs::is_directory(blob_dir(), ec)) {
    for (const auto& entry : fs::directory_iterator(blob_dir())) {
      std::string name = entry.path().filename().string();
      if (!needed_hex.count(name)) fs::remove(entry.path(), ec);
    }
  }
  for (const StoredRef& r : removed)
    if (!needed_manifests.count(r.digest) && is_valid_digest(r.digest)) fs::remove(rootfs_path(r.digest), ec);
  return removed;
}

}  // namespace mcpvm::oci
