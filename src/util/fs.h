// File-system helpers with the durability and permission rules mcpvm relies on:
// everything we create is 0600 (files) / 0700 (dirs), and every "publish" is temp + fsync + rename.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/fd.h"

namespace mcpvm {

namespace fs = std::filesystem;

// Reads a whole file. Throws Error("reading PATH: ...") on failure or when it exceeds max_bytes.
std::string read_file(const fs::path& path, size_t max_bytes = size_t(1) << 30);

// Creates a directory and its missing parents with mode 0700 (existing ones are left as they are).
void make_private_dirs(const fs::path& dir);

// Refuses a directory that holds private data when someone else could change what is in it: another
// owner, or write permission for its group or others (as ssh refuses such a ~/.ssh). Missing is fine.
// Throws Error("DIR is writable by others: refusing to use it (run chmod go-w DIR)").
void check_private_dir(const fs::path& dir);

// Writes data to path atomically and durably: a temp file in the same directory, fsync, rename, fsync dir.
void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode = 0600);

// fsyncs a directory so a rename inside it survives a crash.
void fsync_dir(const fs::path& dir);

// A file being written that becomes visible under its final name only on commit().
// Until then it lives as ".tmp-<random>" beside the target; destruction without commit() unlinks it,
// so a failure at any point leaves nothing that could be mistaken for a finished file.
class AtomicFile {
 public:
  AtomicFile(fs::path target, mode_t mode = 0600);
  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  int fd() const { return fd_.get(); }
  const fs::path& temp_path() const { return temp_; }
  const fs::path& target() const { return target_; }
  void write(std::string_view data);
  // fsync + rename over the target + fsync of the directory. After commit() the object is inert.
  void commit();

 private:
  fs::path target_;
  fs::path temp_;
  UniqueFd fd_;
  bool committed_ = false;
};

// An advisory lock (flock) on a lock file (created 0600 if missing), held for the object's lifetime.
// Shared locks coexist with each other; an exclusive lock excludes every other holder.
class FileLock {
 public:
  enum class Mode { exclusive, shared };
  // Blocks until the lock is granted.
  explicit FileLock(const fs::path& lock_path, Mode mode = Mode::exclusive);
  // Non-blocking variant: returns an unlocked object (locked() == false) when someone else holds it.
  static FileLock try_lock(const fs::path& lock_path);
  bool locked() const { return fd_.valid(); }
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

 private:
  FileLock() = default;
  UniqueFd fd_;
};

// Writes all bytes to fd, retrying on EINTR/short writes. Throws on error.
void write_all(int fd, std::string_view data);

// A fresh private temporary directory (0700), removed recursively on destruction.
class TempDir {
 public:
  explicit TempDir(const fs::path& parent = fs::temp_directory_path(), std::string_view prefix = "mcpvm-");
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace mcpvm
