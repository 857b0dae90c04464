#include "runner/identity.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <thread>

#include "util/backoff.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mcpvm::runner {

namespace {

// Field 22 is the 20th field after the comm's closing parenthesis (field 3 is the first).
constexpr int kFieldsAfterComm = 22 - 3;

std::optional<std::string> read_stat(pid_t pid) {
  try {
    return read_file(fmt::format("/proc/{}/stat", pid), 4096);
  } catch (const Error&) {
    return std::nullopt;
  }
}

char stat_state(std::string_view stat) {
  auto close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat.size()) return '?';
  return stat[close + 2];
}

}  // namespace

std::optional<uint64_t> parse_stat_start_time(std::string_view stat) {
  auto close = stat.rfind(')');
  if (close == std::string_view::npos || stat.find('(') == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  for (int field = 0; field <= kFieldsAfterComm; ++field) {
    if (rest.empty() || rest.front() != ' ') return std::nullopt;
    rest.remove_prefix(1);
    auto end = rest.find_first_of(" \n");
    std::string_view value = rest.substr(0, end);
    if (value.empty()) return std::nullopt;
    if (field == kFieldsAfterComm) {
      uint64_t out = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
      return out;
    }
    if (end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto stat = read_stat(pid);
  if (!stat) return std::nullopt;
  char state = stat_state(*stat);
  if (state == 'Z' || state == 'X') return std::nullopt;
  return parse_stat_start_time(*stat);
}

std::optional<ProcessIdentity> identify(pid_t pid) {
  auto start = process_start_time(pid);
  if (!start) return std::nullopt;
  return ProcessIdentity{pid, *start};
}

ProcessIdentity self_identity() {
  auto id = identify(::getpid());
  if (!id) fail("cannot read /proc/self/stat");
  return *id;
}

bool is_alive(const ProcessIdentity& id) {
  if (id.empty()) return false;
  auto start = process_start_time(id.pid);
  return start && *start == id.start_time;
}

bool signal_process(const ProcessIdentity& id, int sig) {
  if (id.empty()) return false;
  UniqueFd pidfd(int(::syscall(SYS_pidfd_open, id.pid, 0)));
  if (!pidfd) {
    if (errno == ESRCH) return false;
    fail_errno("opening pidfd of process {}", id.pid);
  }
  // The pidfd now pins this exact process: if its start time matches, it is the one we recorded.
  if (!is_alive(id)) return false;
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0) {
    if (errno == ESRCH) return false;
    fail_errno("signalling process {}", id.pid);
  }
  return true;
}

bool wait_gone(const ProcessIdentity& id, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  return retry_with_backoff([&] { return !is_alive(id); }, deadline,
                            Backoff(std::chrono::milliseconds(2), std::chrono::milliseconds(50)));
}

bool terminate_process(const ProcessIdentity& id, int grace_ms) {
  if (!signal_process(id, SIGTERM)) return true;
  if (wait_gone(id, grace_ms)) return true;
  signal_process(id, SIGKILL);
  return wait_gone(id, 5000);
}

std::string current_boot_id() {
  try {
    std::string id = read_file("/proc/sys/kernel/random/boot_id", 128);
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id;
  } catch (const Error&) {
    return {};
  }
}

}  // namespace mcpvm::runner
