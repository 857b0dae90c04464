// Size-capped, rotated log files (server.log and console.log, which the runner drains from sockets). When a
// write would take the file past max_bytes, FILE.1..FILE.(keep-1) shift up, FILE becomes FILE.1 and a fresh
// FILE starts: a VM that logs forever uses at most keep * max_bytes. Files are 0600.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "util/fd.h"

namespace mcpvm::runner {

// 8 MiB, or MCPVM_LOG_MAX_BYTES (at least 1024; tests use small caps to see rotation quickly).
uint64_t default_log_cap();

class RotatingLog {
 public:
  RotatingLog(std::filesystem::path path, uint64_t max_bytes = default_log_cap(), int keep = 3);
  void write(std::string_view data);
  // Makes `fd` (e.g. 2) point at the current file, also after every rotation (the runner's own stderr).
  void mirror_to_fd(int fd);
  const std::filesystem::path& path() const { return path_; }

 private:
  void open();
  void rotate();

  std::filesystem::path path_;
  uint64_t max_bytes_;
  int keep_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  int mirror_fd_ = -1;
};

// A stream socket whose far end (vm_side(), handed to QEMU as a chardev or as the server's stderr port)
// is drained by a thread into a RotatingLog, so nothing the guest prints can grow a file without bound.
// The thread starts with every signal blocked (see util/signal_mask.h). Destruction ends it.
class LogPump {
 public:
  explicit LogPump(std::filesystem::path log_path);
  ~LogPump();
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;
  int vm_side() const { return vm_.get(); }

 private:
  void pump();
  RotatingLog log_;
  UniqueFd host_, vm_;
  std::thread thread_;
};

// The rotated files of a log, oldest first, that exist (FILE.2, FILE.1, FILE).
std::vector<std::filesystem::path> log_generations(const std::filesystem::path& path, int keep = 3);

// The last n lines over all generations of the log (n < 0: everything).
std::string tail_lines(const std::filesystem::path& path, long n);

// Splits off the last n lines of text (n < 0: all of it).
std::string_view last_lines(std::string_view text, long n);

}  // namespace mcpvm::runner
