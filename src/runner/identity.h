// Identity of a host process that survives our own restarts: its pid AND its start time (field 22 of
// /proc/PID/stat, in clock ticks since boot), plus the boot it belongs to. A pid alone is not an identity:
// after the process died the kernel may hand the number to an unrelated process, which we must never signal.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcpvm::runner {

struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_time = 0;  // clock ticks after boot (/proc/PID/stat field 22)
  bool empty() const { return pid <= 0; }
  bool operator==(const ProcessIdentity&) const = default;
};

// Parses the start time out of the text of /proc/PID/stat. The second field (comm) is parenthesised and
// may itself contain spaces and parentheses, so fields are counted after the LAST ')'. nullopt when the
// text is not a well-formed stat line.
std::optional<uint64_t> parse_stat_start_time(std::string_view stat);

// The start time of a live pid, or nullopt if there is no such process (or it is a zombie being reaped).
std::optional<uint64_t> process_start_time(pid_t pid);

// The identity of a live pid right now (nullopt if it does not exist).
std::optional<ProcessIdentity> identify(pid_t pid);
ProcessIdentity self_identity();

// True when the very process described by `id` still exists (same pid, same start time, not a zombie).
bool is_alive(const ProcessIdentity& id);

// Sends sig to exactly the process `id` names, never to a recycled pid: opens a pidfd, re-checks the start
// time while the pidfd pins the process, then signals through the pidfd. Returns false when the process is
// gone (or is not the same one); throws Error for other failures (e.g. EPERM).
bool signal_process(const ProcessIdentity& id, int sig);

// Sends SIGTERM, waits up to `grace_ms` for the process to disappear, then SIGKILL and waits up to 5 s.
// Returns true when the process is gone afterwards. Works for processes that are not our children.
bool terminate_process(const ProcessIdentity& id, int grace_ms);

// Waits until the process is gone or timeout_ms passed; true if gone.
bool wait_gone(const ProcessIdentity& id, int timeout_ms);

// This boot's id (/proc/sys/kernel/random/boot_id): pids and start times recorded under another boot
// describe processes that no longer exist.
std::string current_boot_id();

}  // namespace mcpvm::runner
