// The content-addressed image store under $MCPVM_HOME:
//   blobs/sha256/<hex>           verified blobs (manifests, configs, layers); written temp + fsync + rename
//   refs.json                    {"refs": {"<normalized ref>": {"digest": "sha256:..", "added":
//   "<RFC3339>"}}} oci.lock                     shared by pulls/imports, exclusive for garbage collection
//   (rmi) refs.lock                    exclusive while refs.json is read-modified-written
//   rootfs/<manifest-hex>.sqfs   the rootfs cache (owned by src/rootfs; shown by `images`, removed by `rmi`)
// A blob is only ever visible under its digest after its bytes were hashed and checked; a ref is only
// written after every blob it needs is in place, so a crash at any point leaves nothing that reads as valid.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/image.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace mcpvm::oci {

// Writes one blob: bytes are streamed into a temp file in the store while hashed; commit() checks the
// digest and size and renames it into place. Abandoned (destroyed without commit) = nothing left behind.
class BlobWriter {
 public:
  BlobWriter(const std::filesystem::path& blob_dir, std::string expected_digest, int64_t expected_size);
  BlobWriter(BlobWriter&&) noexcept = default;
  void write(std::string_view data);
  int64_t written() const { return written_; }
  // Throws Error("does not match its digest" / "is truncated: N of M bytes" / "is larger than ...").
  void commit();

 private:
  std::string expected_digest_;
  int64_t expected_size_;
  int64_t written_ = 0;
  Sha256 hasher_;
  AtomicFile file_;
};

struct StoredRef {
  std::string reference;  // normalized
  std::string digest;     // manifest digest
  std::string added;      // RFC 3339 UTC, when pulled/imported
};

class Store {
 public:
  explicit Store(std::filesystem::path home);  // $MCPVM_HOME (see util/home.h); created lazily

  const std::filesystem::path& home() const { return home_; }

  // An image by reference ("busybox", "host:5000/x:1"), manifest digest ("sha256:<hex>") or unique
  // prefix of its hex (≥ 12 digits). Throws Error("image X not found: pull or import it first").
  Image resolve(std::string_view ref_or_digest) const;
  // Parses the image whose manifest blob is in the store (reference left as given).
  Image load_image(const std::string& manifest_digest, const std::string& reference) const;

  // The path of a verified blob in the store. Throws Error when it is not there.
  std::filesystem::path blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;
  std::string read_blob(std::string_view digest, size_t max_bytes) const;
  // Starts writing a blob; see BlobWriter.
  BlobWriter begin_blob(const std::string& digest, int64_t size) const;
  // Bytes an unprivileged writer may still use in the store's file system (statvfs f_bavail).
  uint64_t free_bytes() const;
  // Stores a small blob (manifest, config) whose bytes are in memory; verified like any other.
  void put_blob(const std::string& digest, std::string_view data) const;

  // Points ref at a manifest digest (atomic; replaces an existing ref).
  void set_ref(const std::string& reference, const std::string& manifest_digest) const;
  // Points a new ref at a manifest digest; a ref already pointing there is left as it is. When the ref
  // points at another manifest, nothing changes and that manifest's digest is returned.
  std::optional<std::string> add_ref(const std::string& reference, const std::string& manifest_digest) const;
  std::vector<StoredRef> refs() const;

  // Removes a ref (or every ref of a digest), then deletes blobs no ref needs and the rootfs cache of
  // manifests no ref points at. Returns the refs removed. Throws Error when nothing matches.
  std::vector<StoredRef> remove(std::string_view ref_or_digest) const;

  // The rootfs cache file of a manifest (may not exist).
  std::filesystem::path rootfs_path(std::string_view manifest_digest) const;

  // Lock held for the duration of a pull/import (shared) or a garbage collection (exclusive).
  FileLock lock_shared() const;
  FileLock lock_exclusive() const;

  std::filesystem::path blob_dir() const { return home_ / "blobs" / "sha256"; }

 private:
  std::optional<StoredRef> find_ref(std::string_view ref_or_digest) const;
  std::filesystem::path home_;
};

}  // namespace mcpvm::oci
