#include "guest/init/util.h"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

namespace mcpvm::guest {

void fail_sys(const std::string& what) { throw SetupError(what + ": " + std::strerror(errno)); }

void console(std::string_view message) {
  std::string line = "mcpvm-init: ";
  line.append(message);
  line.push_back('\n');
  [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

std::string read_whole_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail_sys("reading " + path);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_sys("reading " + path);
    if (n == 0) return out;
    out.append(buf, size_t(n));
  }
}

bool write_fully(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(size_t(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace mcpvm::guest
