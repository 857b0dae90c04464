// The runner's own log: logs/runner.log, capped and rotated like the VM's other logs (log_file.h), with
// stderr (where libraries write) pointed at it. Before open_runner_log() succeeds, lines go to stderr,
// which the spawner points at the same file. Thread-safe.
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <string>

namespace mcpvm::runner {

// Throws Error when the log cannot be opened (the runner then keeps logging to stderr).
void open_runner_log(const std::filesystem::path& path);
void write_runner_log(const std::string& message);

// One line: "<unix time> runner: <message>".
template <typename... Args>
void note(fmt::format_string<Args...> format, Args&&... args) {
  write_runner_log(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mcpvm::runner
