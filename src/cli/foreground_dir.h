// The private directory of one `mcpvm run --foreground`: $MCPVM_HOME/foreground/PID (0700), holding the
// guest console log and a lock held for the run's whole life. It lives outside vms/ on purpose: a
// foreground VM belongs to its terminal, so `ls`/`stop`/`rm` never see it. A run that ends normally
// removes its directory; one that fails keeps it (the error names the console log in it); one killed
// with -9 leaves it behind. Either leftover is reclaimed by a later foreground run once it is unlocked
// (its owner is gone) and older than a day.
#pragma once

#include <chrono>
#include <filesystem>

#include "util/fs.h"

namespace mcpvm::cli {

class ForegroundDir {
 public:
  // Creates and locks the directory of this process, after sweeping stale ones.
  ForegroundDir();
  const std::filesystem::path& path() const { return path_; }
  // Called when the run ended normally: nothing in the directory is needed any more.
  void remove();

  static std::filesystem::path parent();

 private:
  std::filesystem::path path_;
  FileLock lock_;
};

// Removes the directories under `parent` whose lock is free and that were last modified more than
// `max_age` ago. Returns how many it removed.
int sweep_foreground_dirs(const std::filesystem::path& parent, std::chrono::seconds max_age);

}  // namespace mcpvm::cli
