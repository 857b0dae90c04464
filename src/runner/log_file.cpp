#include "runner/log_file.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"
#include "util/signal_mask.h"
#include "util/socket.h"

namespace mcpvm::runner {

namespace {

std::filesystem::path generation(const std::filesystem::path& path, int n) {
  if (n == 0) return path;
  return path.string() + "." + std::to_string(n);
}

}  // namespace

uint64_t default_log_cap() {
  if (const char* s = std::getenv("MCPVM_LOG_MAX_BYTES"); s && *s) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (end && *end == '\0' && v > 0) return std::max<uint64_t>(v, 1024);
  }
  return 8 << 20;
}

RotatingLog::RotatingLog(std::filesystem::path path, uint64_t max_bytes, int keep)
    : path_(std::move(path)), max_bytes_(std::max<uint64_t>(max_bytes, 1024)), keep_(std::max(keep, 1)) {
  open();
}

void RotatingLog::open() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd_) fail_errno("opening log {}", path_.string());
  struct stat st;
  size_ = ::fstat(fd_.get(), &st) == 0 ? uint64_t(st.st_size) : 0;
  if (mirror_fd_ >= 0) ::dup2(fd_.get(), mirror_fd_);
}

void RotatingLog::rotate() {
  std::error_code ec;
  std::filesystem::remove(generation(path_, keep_ - 1), ec);
  for (int n = keep_ - 2; n >= 0; --n)
    std::filesystem::rename(generation(path_, n), generation(path_, n + 1), ec);
  if (keep_ == 1) std::filesystem::remove(path_, ec);
  open();
}

void RotatingLog::mirror_to_fd(int fd) {
  mirror_fd_ = fd;
  ::dup2(fd_.get(), fd);
}

void RotatingLog::write(std::string_view data) {
  if (mirror_fd_ >= 0) {
    // Others write to the mirrored fd directly (library messages on stderr): count their bytes too.
    struct stat st;
    if (::fstat(fd_.get(), &st) == 0) size_ = uint64_t(st.st_size);
  }
  while (!data.empty()) {
    if (size_ >= max_bytes_) {
      try {
        rotate();
      } catch (const Error&) {
        return;  // e.g. the directory is gone: drop the bytes rather than end the pumping thread
      }
    }
    size_t room = size_t(std::min<uint64_t>(max_bytes_ - size_, data.size()));
    // Cut at a line end when one is in reach, so rotation rarely splits a line.
    if (room < data.size()) {
      auto nl = data.substr(0, room).rfind('\n');
      if (nl != std::string_view::npos) room = nl + 1;
    }
    // A log must never take the runner down (e.g. a full disk): drop what cannot be written.
    try {
      write_all(fd_.get(), data.substr(0, room));
    } catch (const Error&) {
      return;
    }
    size_ += room;
    data.remove_prefix(room);
  }
}

LogPump::LogPump(std::filesystem::path log_path) : log_(std::move(log_path)) {
  std::tie(host_, vm_) = stream_socketpair();
  ScopedBlockAllSignals quiet;
  thread_ = std::thread([this] { pump(); });
}

LogPump::~LogPump() {
  ::shutdown(vm_.get(),
             SHUT_RDWR);  // acts on the socket (also QEMU's copy): the reader gets what was sent, then EOF
  thread_.join();
}

void LogPump::pump() {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(host_.get(), buf, sizeof buf);
    if (n > 0)
      log_.write({buf, size_t(n)});
    else if (n == 0 || errno != EINTR)
      return;
  }
}

std::vector<std::filesystem::path> log_generations(const std::filesystem::path& path, int keep) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (int n = keep - 1; n >= 0; --n)
    if (std::filesystem::exists(generation(path, n), ec)) out.push_back(generation(path, n));
  return out;
}

std::string_view last_lines(std::string_view text, long n) {
  if (n < 0) return text;
  if (n == 0) return {};
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;  // the final newline does not start a line
  size_t pos = end;
  for (long count = 0; pos > 0;) {
    if (text[pos - 1] == '\n' && ++count == n) break;
    --pos;
  }
  return text.substr(pos);
}

std::string tail_lines(const std::filesystem::path& path, long n) {
  std::string all;
  for (auto& p : log_generations(path)) {
    try {
      all += read_file(p, 64 << 20);
    } catch (const Error&) {
      // rotated away between listing and reading: skip it
    }
  }
  return std::string(last_lines(all, n));
}

}  // namespace mcpvm::runner
