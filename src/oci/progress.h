// Download progress for pulls: per-layer bars redrawn in place when stderr is a terminal, otherwise one
// line per finished layer (so logs and CI output stay readable).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace mcpvm::oci {

class Progress {
 public:
  enum class Mode { bars, lines, quiet };
  explicit Progress(Mode mode) : mode_(mode) {}
  ~Progress();

  // Adds a row; returns its id.
  size_t add(std::string label, int64_t total);
  void advance(size_t id, int64_t bytes);
  void restart(size_t id);                          // a retry starts the transfer over
  void finish(size_t id, std::string_view status);  // "done", "exists", ...
  void message(std::string_view line);

  static std::string human_bytes(int64_t bytes);

 private:
  struct Row {
    std::string label;
    int64_t total = 0, done = 0;
    std::string status;
  };
  void redraw_locked(bool force);
  Mode mode_;
  std::mutex mutex_;
  std::vector<Row> rows_;
  size_t drawn_ = 0;  // rows currently on screen (bars mode)
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace mcpvm::oci
