// Subprocess: a child process owned like a resource. Destroying a still-running Subprocess kills its
// whole process group (SIGKILL) and reaps it, so no code path can leak a child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mcpvm {

struct ExitStatus {
  int raw = 0;  // as returned by waitpid
  bool exited() const;
  bool signaled() const;
  int code() const;    // exit code, valid if exited()
  int signal() const;  // terminating signal, valid if signaled()
  // The shell's convention: the exit code, or 128 + signal number.
  int shell_code() const;
  std::string describe() const;  // "exit code 3" / "killed by signal 9 (Killed)"
};

struct SpawnOptions {
  // Full environment of the child; when unset the parent's environment is inherited.
  std::optional<std::vector<std::string>> env;
  std::string cwd;
  // Descriptors the child gets at given numbers: {parent_fd, child_fd}. 0/1/2 not mapped here are
  // inherited from the parent unless *_null says otherwise. Every other descriptor is closed in the child.
  std::vector<std::pair<int, int>> fds;
  bool stdin_null = false;
  bool stdout_null = false;
  bool stderr_null = false;
  bool new_session = false;       // setsid(): detach from the terminal (runner, daemons)
  bool new_process_group = true;  // setpgid(0,0): lets us kill the child's whole tree
  bool die_with_parent = true;    // PR_SET_PDEATHSIG(SIGKILL)
};

class Subprocess {
 public:
  Subprocess() = default;
  // Starts argv[0] (looked up in PATH when it has no slash). Throws Error if it cannot be started;
  // exec failures in the child are reported as exit code 127 with a message on stderr.
  static Subprocess spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }

  // Blocks until the child exits.
  ExitStatus wait();
  // Waits at most `timeout`; nullopt if still running.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  // Non-blocking check.
  std::optional<ExitStatus> poll();
  // Sends sig to the child's process group (or the child alone if it has none of its own).
  void kill(int sig);
  // SIGTERM, wait up to grace, then SIGKILL; returns the final status.
  ExitStatus terminate(std::chrono::milliseconds grace);
  // Gives up ownership: the destructor will no longer kill or reap the child.
  pid_t release();

 private:
  pid_t pid_ = -1;
  bool own_group_ = false;
  std::optional<ExitStatus> status_;
};

struct CommandResult {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs a command to completion, capturing stdout and stderr. Kills it (whole group) after `timeout`
// and throws Error naming the command. Never throws for a non-zero exit: check result.status.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::minutes(5),
                          const SpawnOptions& options = {}, const std::string& stdin_data = {});

// Quotes argv for messages ("qemu-system-x86_64 -M microvm ...").
std::string join_argv(const std::vector<std::string>& argv);

}  // namespace mcpvm
