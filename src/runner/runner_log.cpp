#include "runner/runner_log.h"

#include <unistd.h>

#include <memory>
#include <mutex>

#include "runner/log_file.h"
#include "runner/state.h"

namespace mcpvm::runner {
namespace {

std::mutex g_mutex;
std::unique_ptr<RotatingLog> g_log;  // guarded by g_mutex

}  // namespace

void open_runner_log(const std::filesystem::path& path) {
  auto log = std::make_unique<RotatingLog>(path);
  log->mirror_to_fd(2);
  std::lock_guard lock(g_mutex);
  g_log = std::move(log);
}

void write_runner_log(const std::string& message) {
  std::string line = fmt::format("{} runner: {}\n", unix_now(), message);
  std::lock_guard lock(g_mutex);
  if (g_log) {
    g_log->write(line);
  } else {
    [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
  }
}

}  // namespace mcpvm::runner
