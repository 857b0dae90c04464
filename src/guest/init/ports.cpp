#include "guest/init/ports.h"

#include <dirent.h>
#include <fcntl.h>

#include <map>
#include <string>
#include <thread>

#include "guest/protocol.h"

namespace mcpvm::guest {

namespace {

// name → /dev/vportNpM for every port visible now.
std::map<std::string, std::string> list_ports() {
  std::map<std::string, std::string> found;
  DIR* dir = ::opendir("/sys/class/virtio-ports");
  if (!dir) return found;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::string dev = e->d_name;
    try {
      std::string name = read_whole_file("/sys/class/virtio-ports/" + dev + "/name");
      while (!name.empty() && (name.back() == '\n' || name.back() == '\0')) name.pop_back();
      if (!name.empty()) found[name] = "/dev/" + dev;
    } catch (const SetupError&) {
      // The port is still being set up; the next scan sees it.
    }
  }
  ::closedir(dir);
  return found;
}

UniqueFd open_port(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) fail_sys("opening " + path);
  return fd;
}

}  // namespace

Ports open_ports(std::chrono::milliseconds timeout) {
  const char* names[] = {kCtlPort, kStdinPort, kStdoutPort, kStderrPort};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto found = list_ports();
    bool all = true;
    for (const char* n : names) all = all && found.count(n) && ::access(found[n].c_str(), F_OK) == 0;
    if (all) {
      Ports p;
      p.ctl = open_port(found[kCtlPort], O_RDWR);
      p.stdin_ = open_port(found[kStdinPort], O_RDONLY);
      p.stdout_ = open_port(found[kStdoutPort], O_WRONLY);
      p.stderr_ = open_port(found[kStderrPort], O_WRONLY);
      return p;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::string missing;
      for (const char* n : names)
        if (!found.count(n)) missing += std::string(missing.empty() ? "" : ", ") + n;
      throw SetupError("virtio-serial ports did not appear: " + missing);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace mcpvm::guest
