#include "cli/foreground_dir.h"

#include <unistd.h>

#include <fmt/format.h>

#include "util/home.h"
#include "util/log.h"

namespace mcpvm::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockName = "run.lock";

fs::path create_own_dir() {
  fs::path dir = ForegroundDir::parent() / std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(dir, ec);  // a dead process with our pid left it (the sweep keeps fresh ones)
  make_private_dirs(dir);
  return dir;
}

}  // namespace

fs::path ForegroundDir::parent() {
  return ensure_mcpvm_home() / "foreground";
}

ForegroundDir::ForegroundDir() : path_(create_own_dir()), lock_(path_ / kLockName) {
  try {
    sweep_foreground_dirs(parent(), std::chrono::hours(24));
  } catch (const std::exception& e) {
    log::debug("sweeping old foreground run directories: {}", e.what());
  }
}

void ForegroundDir::remove() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int sweep_foreground_dirs(const fs::path& parent, std::chrono::seconds max_age) {
  int removed = 0;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::error_code e;
    if (!it->is_directory(e) || it->is_symlink(e)) continue;
    auto mtime = fs::last_write_time(it->path(), e);
    if (e || now - mtime < max_age) continue;
    FileLock probe = FileLock::try_lock(it->path() / kLockName);
    if (!probe.locked()) continue;  // its run is alive
    fs::remove_all(it->path(), e);
    if (!e) ++removed;
  }
  return removed;
}

}  // namespace mcpvm::cli
