#include "guest/runtime_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace mcpvm::guest {

namespace {

[[noreturn]] void fail_creating(std::string_view path) {
  throw std::runtime_error("creating " + std::string(path) + ": " + std::strerror(errno));
}

// `path` is absolute inside the image ("/etc"); `root_fd` is the image's root.
void make_dir_if_missing(int root_fd, std::string_view path, mode_t mode) {
  std::string relative(path.substr(1));
  if (::mkdirat(root_fd, relative.c_str(), mode) != 0) {
    if (errno == EEXIST) return;
    fail_creating(path);
  }
  // mkdir applies the umask; /tmp needs its sticky bit and world write exactly.
  if (::fchmodat(root_fd, relative.c_str(), mode, 0) != 0) fail_creating(path);
}

void make_file_if_missing(int root_fd, std::string_view path, std::string_view content) {
  std::string relative(path.substr(1));
  int fd = ::openat(root_fd, relative.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return;  // the image's own file, or a symlink (followed by nobody here)
    fail_creating(path);
  }
  bool ok = ::write(fd, content.data(), content.size()) == ssize_t(content.size());
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (!ok) fail_creating(path);
}

}  // namespace

void provide_runtime_files(const std::string& root, const std::string& hostname) {
  int root_fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail_creating(root);
  try {
    make_dir_if_missing(root_fd, "/etc", 0755);
    make_file_if_missing(root_fd, "/etc/hosts", kDefaultHosts);
    make_file_if_missing(root_fd, "/etc/resolv.conf", "");
    make_file_if_missing(root_fd, "/etc/hostname", hostname.empty() ? "" : hostname + "\n");
    make_dir_if_missing(root_fd, "/tmp", 01777);
  } catch (...) {
    ::close(root_fd);
    throw;
  }
  ::close(root_fd);
}

}  // namespace mcpvm::guest
