// `mcpvm logs [-f] [--tail N] [--console] [--runner] [--audit] NAME`: the server's stderr (default), the
// guest kernel console, the runner's own log, or the endpoint's audit log (JSON lines). -f follows the file
// across rotations until the VM's runner is gone.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "cli/command.h"
#include "runner/lifecycle.h"
#include "runner/log_file.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/terminal.h"

namespace mcpvm::cli {
namespace {

struct LogsOptions {
  bool follow = false;
  long tail = -1;
  bool console = false;
  bool runner_log = false;
  bool audit = false;
  std::string name;
};

// Copies what is appended to `path` to stdout until the VM's runner is gone; reopens after a rotation.
void follow(const runner::VmDir& dir, const std::filesystem::path& path) {
  struct stat st {};
  off_t offset = ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
  ino_t inode = st.st_ino;
  int idle_after_exit = 0;
  ControlNeutralizer safe;
  for (;;) {
    struct stat now {};
    bool exists = ::stat(path.c_str(), &now) == 0;
    if (exists && (now.st_ino != inode || now.st_size < offset)) {  // rotated or truncated (new boot)
      inode = now.st_ino;
      offset = 0;
    }
    if (exists && now.st_size > offset) {
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd && ::lseek(fd.get(), offset, SEEK_SET) == offset) {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
          std::cout << safe.feed({buf, size_t(n)});
          offset += n;
        }
        std::cout.flush();
      }
      continue;
    }
    if (!dir.runner_holds_lock() && ++idle_after_exit > 2) {
      std::cout << safe.finish() << std::flush;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int run_logs(const LogsOptions& o) {
  runner::VmDir dir = runner::VmDir::for_name(o.name);
  if (!dir.exists()) fail("no such VM: {}", o.name);
  auto path = o.console      ? dir.console_log()
              : o.runner_log ? dir.runner_log()
              : o.audit      ? dir.audit_log()
                             : dir.server_log();
  std::cout << neutralize_controls(runner::tail_lines(path, o.tail)) << std::flush;
  if (o.follow) follow(dir, path);
  return 0;
}

const Command kLogs{"logs", "Show a VM's server log (stderr), or its console", 41, [](CLI::App& app) {
                      auto o = std::make_shared<LogsOptions>();
                      app.add_flag("-f,--follow", o->follow, "Keep printing new lines until the VM stops");
                      app.add_option("-n,--tail", o->tail, "Only the last N lines");
                      app.add_flag("--console", o->console, "The guest kernel console instead");
                      app.add_flag("--runner", o->runner_log, "The runner's own log instead");
                      app.add_flag("--audit", o->audit,
                                   "The endpoint's audit log instead: one JSON line per client request");
                      app.add_option("name", o->name, "VM name")->required();
                      return [o] { return run_logs(*o); };
                    }};

}  // namespace
}  // namespace mcpvm::cli
