// Helper threads must never be the ones the kernel picks for a process-directed SIGTERM/SIGINT: a thread
// with the signal unblocked would take the default action (kill the process) while the main thread waits
// for it on a signalfd. Threads inherit the creator's mask, so create them inside this guard.
#pragma once

#include <signal.h>

namespace mcpvm {

class ScopedBlockAllSignals {
 public:
  ScopedBlockAllSignals() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~ScopedBlockAllSignals() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  ScopedBlockAllSignals(const ScopedBlockAllSignals&) = delete;
  ScopedBlockAllSignals& operator=(const ScopedBlockAllSignals&) = delete;

 private:
  sigset_t old_;
};

}  // namespace mcpvm
