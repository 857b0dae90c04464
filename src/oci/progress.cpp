#include "oci/progress.h"

#include <fmt/format.h>

#include <cstdio>

namespace mcpvm::oci {

Progress::~Progress() {
  std::lock_guard lock(mutex_);
  if (mode_ == Mode::bars) redraw_locked(true);
}

std::string Progress::human_bytes(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

size_t Progress::add(std::string label, int64_t total) {
  std::lock_guard lock(mutex_);
  rows_.push_back(Row{std::move(label), total, 0, ""});
  if (mode_ == Mode::bars) redraw_locked(true);
  return rows_.size() - 1;
}

void Progress::advance(size_t id, int64_t bytes) {
  std::lock_guard lock(mutex_);
  rows_[id].done += bytes;
  if (mode_ == Mode::bars) redraw_locked(false);
}

void Progress::restart(size_t id) {
  std::lock_guard lock(mutex_);
  rows_[id].done = 0;
}

void Progress::finish(size_t id, std::string_view status) {
  std::lock_guard lock(mutex_);
  rows_[id].status = std::string(status);
  if (mode_ == Mode::bars)
    redraw_locked(true);
  else if (mode_ == Mode::lines)
    std::fprintf(stderr, "%s: %s (%s)\n", rows_[id].label.c_str(), rows_[id].status.c_str(),
                 human_bytes(rows_[id].total).c_str());
}

void Progress::message(std::string_view line) {
  std::lock_guard lock(mutex_);
  if (mode_ == Mode::quiet) return;
  if (mode_ == Mode::bars && drawn_ > 0) {
    std::fprintf(stderr, "\x1b[%zuA\x1b[J", drawn_);
    drawn_ = 0;
  }
  std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
  if (mode_ == Mode::bars) redraw_locked(true);
}

void Progress::redraw_locked(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::string out;
  if (drawn_ > 0) out += fmt::format("\x1b[{}A", drawn_);
  constexpr int kWidth = 30;
  for (const Row& r : rows_) {
    double frac = r.total > 0 ? double(r.done) / double(r.total) : 1.0;
    if (frac > 1) frac = 1;
    int filled = int(frac * kWidth);
    std::string bar = std::string(size_t(filled), '#') + std::string(size_t(kWidth - filled), '-');
    std::string right = r.status.empty() ? fmt::format("{} / {}", human_bytes(r.done), human_bytes(r.total))
                                         : fmt::format("{} {}", r.status, human_bytes(r.total));
    out += fmt::format("\x1b[2K{} [{}] {}\n", r.label, bar, right);
  }
  drawn_ = rows_.size();
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

}  // namespace mcpvm::oci
