#include "guest/init/util.h"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace mcpvm::guest {

void fail_sys(const std::string& what) {
  throw SetupError(what + ": " + std::strerror(errno));
}

void console(std::string_view message) {
  std::string line = "mcpvm-init: ";
  line.append(message);
  line.push_back('\n');
  [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

void console_phase(const std::string& phase) {
  timespec t{};
  ::clock_gettime(CLOCK_BOOTTIME, &t);
  double idle = 0;
  try {
    std::string uptime = read_whole_file("/proc/uptime");  // "<uptime> <idle seconds summed over CPUs>"
    idle = std::atof(uptime.c_str() + uptime.find(' '));
  } catch (const SetupError&) {
  }
  char line[96];
  std::snprintf(line, sizeof line, " at %ld.%03ld s (idle %.2f s)", long(t.tv_sec), long(t.tv_nsec / 1000000),
                idle);
  console(phase + line);
}

std::string read_whole_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail_sys("pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace mcpvm::guest
