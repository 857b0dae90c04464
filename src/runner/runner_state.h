// RunnerState: what the runner's threads share about its VM (the supervisor, the boot, the readiness
// prober, the signal watcher and every control connection), and the stop switch they all may pull.
//
// Thread-safety: every member function may be called from any thread. mu_ guards the fields marked so;
// stop_requested_ is atomic so loops can poll it without the lock. Every change of the state is saved to
// state.json (under mu_, so writes never interleave) and wakes waiters on cv_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "runner/state.h"
#include "util/fd.h"
#include "vm/exec_mux.h"

namespace mcpvm::runner {

class RunnerState {
 public:
  RunnerState(VmDir dir, VmState initial);

  // Applies fn to the state, saves state.json (a failed save is logged: the next one may succeed), wakes
  // waiters.
  template <typename Fn>
  void update(Fn&& fn) {
    std::lock_guard lock(mu_);
    fn(state_);
    save_locked();
    cv_.notify_all();
  }
  VmState snapshot() const;

  // --- the stop switch ---
  bool stop_requested() const { return stop_requested_; }
  // An eventfd that becomes readable on the first stop request (the attach session polls it).
  int stop_event_fd() const { return stop_event_.get(); }
  // Graceful stop of the current boot: the server gets SIGTERM through the init; QEMU is terminated
  // after `grace`. Marks the VM as stopping for good (no restart). Returns once the VM is down or
  // QEMU was killed.
  void stop_vm(std::chrono::milliseconds grace);
  // Sleeps up to `delay` unless a stop is requested first; true when it was.
  bool wait_for_stop(std::chrono::milliseconds delay);
  // `mcpvm restart`: ends the current boot as stop_vm() does, but not for good: the supervisor boots the
  // VM again at once, in the same runner (same endpoint listener and token). Returns once the VM is down.
  void reboot_vm(std::chrono::milliseconds grace);
  // The supervisor, after a boot ended: whether reboot_vm() ended it. Clears the request and re-arms the
  // stop event for the next boot (unless a stop for good came meanwhile: that one stays armed).
  bool take_reboot_request();

  // --- the boot in progress ---
  // Called by the boot when its VM has ended: wakes stop_vm() waiting for it.
  void mark_vm_down();
  // The exec multiplexer of the running boot (null between boots); see exec_bridge.h.
  void set_exec_mux(std::shared_ptr<vm::ExecMux> mux);
  std::shared_ptr<vm::ExecMux> exec_mux() const;

 private:
  void save_locked();
  // Signals the boot to end (the stop event), then waits up to `grace` for its VM to go down before
  // terminating QEMU.
  void end_boot(std::chrono::milliseconds grace);

  const VmDir dir_;
  UniqueFd stop_event_;  // eventfd, written once per stop_vm()
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reboot_requested_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  VmState state_;                          // guarded by mu_
  uint64_t vm_down_generation_ = 0;        // guarded by mu_; +1 whenever a boot's VM ended
  std::shared_ptr<vm::ExecMux> exec_mux_;  // guarded by mu_
};

}  // namespace mcpvm::runner
