// Drives a started Vm in the foreground: the server's stdin/stdout/stderr are the given fds, signals
// reach the server as SIGTERM, and the result is the server's exit status.
#pragma once

#include <chrono>
#include <memory>

#include "vm/exec_mux.h"
#include "vm/vm.h"

namespace mcpvm::vm {

struct AttachOptions {
  int in = 0, out = 1, err = 2;  // host side; not made non-blocking (they may be shared terminals)
  std::chrono::milliseconds stop_timeout{10000};  // after SIGINT/SIGTERM: then the VM is powered off
  std::chrono::milliseconds boot_timeout{60000};  // no Ready by then: the VM is killed
  bool handle_signals = true;                     // SIGINT/SIGTERM/SIGHUP → SIGTERM to the server
  // A stop request from the caller (e.g. an eventfd it writes): once readable, the server gets SIGTERM
  // through the init as for a first signal (before the server runs: the VM is powered off). Read once,
  // never drained; the caller enforces its own timeout. -1: none.
  int stop_fd = -1;
  // Exec sessions: their frames are routed to it, its outgoing frames written to the ctl port. Null:
  // exec frames from the guest are dropped. The caller closes it once run_attached returned.
  std::shared_ptr<ExecMux> exec;
};

// Relays until the server exited and its output arrived, then lets the guest power off. Returns the
// server's status in the shell convention (code, or 128+signal); 126/127 when the guest could not start
// the command (the reason is printed on `err`); 137 when the VM had to be killed after stop_timeout.
// Throws Error when the VM fails (QEMU error, boot deadline, guest crash), naming the console log.
int run_attached(Vm& vm, const AttachOptions& options);

}  // namespace mcpvm::vm
