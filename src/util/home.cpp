#include "util/home.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"

namespace mcpvm {

namespace {

std::filesystem::path data_dir() {
  if (const char* h = std::getenv("MCPVM_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::filesystem::path(x) / "mcpvm";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    struct passwd* pw = ::getpwuid(::getuid());
    if (!pw) fail("cannot find the home directory: set MCPVM_HOME");
    home = pw->pw_dir;
  }
  return std::filesystem::path(home) / ".local" / "share" / "mcpvm";
}

}  // namespace

std::filesystem::path mcpvm_home() {
  // Another local user who can write here could swap images, kernels or a VM's sockets and state.
  std::filesystem::path home = data_dir();
  check_private_dir(home);
  check_private_dir(home / "vms");
  return home;
}

std::filesystem::path ensure_mcpvm_home() {
  auto home = mcpvm_home();
  make_private_dirs(home);
  return home;
}

std::filesystem::path mcpvm_bin_dir() {
  if (const char* d = std::getenv("MCPVM_BIN_DIR"); d && *d) return d;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot locate the mcpvm binary (/proc/self/exe): {}", ec.message());
  return exe.parent_path();
}

}  // namespace mcpvm
