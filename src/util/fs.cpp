#include "util/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "util/error.h"

namespace mcpvm {

namespace {

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

}  // namespace

std::string read_file(const fs::path& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail_errno("reading {}", path.string());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("reading {}", path.string());
    }
    if (n == 0) break;
    if (out.size() + size_t(n) > max_bytes)
      fail("reading {}: larger than {} bytes", path.string(), max_bytes);
    out.append(buf, size_t(n));
  }
  return out;
}

void make_private_dirs(const fs::path& dir) {
  if (dir.empty()) return;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail("creating directory {}: a non-directory is in the way", dir.string());
    return;
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) make_private_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail_errno("creating directory {}", dir.string());
}

void check_private_dir(const fs::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail_errno("checking {}", dir.string());
  }
  if (!S_ISDIR(st.st_mode)) fail("{} is not a directory", dir.string());
  if (st.st_uid != ::geteuid())
    fail(
        "{} belongs to uid {}, not to you (uid {}): refusing to use it (set MCPVM_HOME to a directory of "
        "your own)",
        dir.string(), st.st_uid, ::geteuid());
  bool group = st.st_mode & S_IWGRP, others = st.st_mode & S_IWOTH;
  if (group || others)
    fail("{} is writable by {}: refusing to use it (run chmod go-w {})", dir.string(),
         group && others ? "its group and others"
         : group         ? "its group"
                         : "others",
         dir.string());
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write");
    }
    data.remove_prefix(size_t(n));
  }
}

void fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) fail_errno("opening directory {}", dir.string());
  if (::fsync(fd.get()) != 0) fail_errno("fsync of directory {}", dir.string());
}

AtomicFile::AtomicFile(fs::path target, mode_t mode) : target_(std::move(target)) {
  fs::path dir = target_.parent_path();
  for (int attempt = 0; attempt < 16 && !fd_; ++attempt) {
    temp_ = dir / (".tmp-" + target_.filename().string() + "-" + random_suffix());
    fd_.reset(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd_ && errno != EEXIST) fail_errno("creating temporary file in {}", dir.string());
  }
  if (!fd_) fail("creating temporary file in {}: too many collisions", dir.string());
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : target_(std::move(other.target_)),
      temp_(std::move(other.temp_)),
      fd_(std::move(other.fd_)),
      committed_(std::exchange(other.committed_, true)) {}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(std::string_view data) {
  with_context(fmt::format("writing {}", target_.string()), [&] { write_all(fd_.get(), data); });
}

void AtomicFile::commit() {
  if (committed_) fail("writing {}: committed twice", target_.string());
  if (::fsync(fd_.get()) != 0) fail_errno("writing {}: fsync", target_.string());
  fd_.reset();
  if (::rename(temp_.c_str(), target_.c_str()) != 0) fail_errno("writing {}: rename", target_.string());
  committed_ = true;
  fsync_dir(target_.parent_path());
}

void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode) {
  AtomicFile file(path, mode);
  file.write(data);
  file.commit();
}

FileLock::FileLock(const fs::path& lock_path, Mode mode) {
  fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_) fail_errno("opening lock {}", lock_path.string());
  while (::flock(fd_.get(), mode == Mode::exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno != EINTR) fail_errno("locking {}", lock_path.string());
  }
}

FileLock FileLock::try_lock(const fs::path& lock_path) {
  FileLock lock;
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) fail_errno("opening lock {}", lock_path.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0)
    lock.fd_ = std::move(fd);
  else if (errno != EWOULDBLOCK)
    fail_errno("locking {}", lock_path.string());
  return lock;
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) {
  std::string templ = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) fail_errno("creating a temporary directory in {}", parent.string());
  path_ = templ;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace mcpvm
