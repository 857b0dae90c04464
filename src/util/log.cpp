#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mcpvm::log {

namespace {

Level level_from_env() {
  const char* v = std::getenv("MCPVM_LOG");
  if (!v) return Level::warn;
  if (!std::strcmp(v, "error")) return Level::error;
  if (!std::strcmp(v, "info")) return Level::info;
  if (!std::strcmp(v, "debug")) return Level::debug;
  return Level::warn;
}

std::atomic<Level>& current() {
  static std::atomic<Level> l{level_from_env()};
  return l;
}

}  // namespace

Level level() {
  return current().load(std::memory_order_relaxed);
}
void set_level(Level l) {
  current().store(l);
}

void write(Level l, std::string_view message) {
  static constexpr const char* kNames[] = {"error", "warning", "info", "debug"};
  // One write() per line so lines from several threads/processes never interleave mid-line.
  std::string line = fmt::format("mcpvm: {}: {}\n", kNames[int(l)], message);
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace mcpvm::log
