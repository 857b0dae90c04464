// Starting the MCP server (or any image command) the way docker would, and supervising it as PID 1:
// relaying its stdio to the host's ports, forwarding signals, reaping every zombie.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "guest/config.h"
#include "guest/init/ports.h"
#include "guest/users.h"

namespace mcpvm::guest {

struct LaunchPlan {
  std::string executable;  // resolved path
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string workdir;
  ResolvedUser user;
};

// What an exec session changes relative to the server's launch (empty fields: the config's value).
struct LaunchOverrides {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // one more layer on top of the config's env layers
  std::string user;
  std::string workdir;
};

// Resolves env, user, workdir and the executable inside the (already switched-to) image root.
// Throws SetupError with docker's codes (126, 127 for a command not found).
LaunchPlan plan_launch(const GuestConfig& config, const std::string& hostname,
                       const LaunchOverrides& overrides = {});

// Forks and execs the plan with the given stdio in a new session (setsid); with `controlling_tty` the
// stdin fd (a pty slave) becomes the session's controlling terminal. Returns once exec succeeded;
// throws SetupError (126, or 127 when the executable is missing) when it did not.
pid_t spawn_process(const LaunchPlan& plan, int in_fd, int out_fd, int err_fd, bool controlling_tty = false);

struct ServerResult {
  int code = 0;    // shell convention: exit code or 128 + signal
  int signal = 0;  // terminating signal, 0 if it exited
  uint64_t stdout_bytes = 0;
  uint64_t stderr_bytes = 0;
};

// Starts the server (sends Ready on the ctl port once exec succeeded), relays until the server exited
// and its output is drained (leftover processes are killed after config.drain_timeout_ms), then returns.
// plan.env is wiped once the server is exec'ed (it may hold secrets).
// `sigfd` is a signalfd for SIGCHLD/SIGTERM/SIGINT/SIGHUP, blocked in init.
ServerResult run_server(LaunchPlan& plan, Ports& ports, int sigfd, const GuestConfig& config);

// Sends a control frame (blocking until written).
void send_ctl(Ports& ports, int type, const std::string& json_payload);

// After Exit: waits for the host's Shutdown (or the timeout), ignoring anything else.
void wait_for_shutdown(Ports& ports, int timeout_ms);

}  // namespace mcpvm::guest
