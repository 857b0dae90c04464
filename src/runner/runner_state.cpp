#include "runner/runner_state.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "runner/runner_log.h"
#include "util/error.h"

namespace mcpvm::runner {

RunnerState::RunnerState(VmDir dir, VmState initial)
    : dir_(std::move(dir)),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      state_(std::move(initial)) {
  if (!stop_event_) fail_errno("eventfd");
  std::lock_guard lock(mu_);
  save_locked();
}

void RunnerState::save_locked() {
  try {
    dir_.save_state(state_);
  } catch (const Error& e) {
    note("{}", e.what());  // e.g. a full disk: keep running, the next write may succeed
  }
}

VmState RunnerState::snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

void RunnerState::stop_vm(std::chrono::milliseconds grace) {
  stop_requested_ = true;
  end_boot(grace);
}

void RunnerState::reboot_vm(std::chrono::milliseconds grace) {
  reboot_requested_ = true;
  end_boot(grace);
}

bool RunnerState::take_reboot_request() {
  if (!reboot_requested_.exchange(false)) return false;
  if (!stop_requested_) {
    uint64_t count;
    [[maybe_unused]] auto n = ::read(stop_event_.get(), &count, sizeof count);  // nonblocking: resets it
    if (stop_requested_) {                                                      // a stop raced the reset
      uint64_t one = 1;
      [[maybe_unused]] auto w = ::write(stop_event_.get(), &one, sizeof one);
    }
  }
  return true;
}

void RunnerState::end_boot(std::chrono::milliseconds grace) {
  uint64_t generation;
  ProcessIdentity qemu;
  {
    std::lock_guard lock(mu_);
    generation = vm_down_generation_;
    qemu = state_.qemu;
  }
  cv_.notify_all();  // a restart delay ends now
  uint64_t one = 1;  // the eventfd stays readable: no lost wakeup for the attach session
  [[maybe_unused]] auto n = ::write(stop_event_.get(), &one, sizeof one);
  std::unique_lock lock(mu_);
  auto down = [&] { return vm_down_generation_ != generation || state_.qemu.empty(); };
  if (cv_.wait_for(lock, grace, down)) return;
  lock.unlock();
  note("the server did not stop within {} s: terminating QEMU", grace.count() / 1000.0);
  terminate_process(qemu, 2000);
  lock.lock();
  cv_.wait_for(lock, std::chrono::seconds(10), down);
}

bool RunnerState::wait_for_stop(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, delay, [this] { return stop_requested_.load(); });
}

void RunnerState::mark_vm_down() {
  {
    std::lock_guard lock(mu_);
    vm_down_generation_++;
    state_.qemu = {};
  }
  cv_.notify_all();
}

void RunnerState::set_exec_mux(std::shared_ptr<vm::ExecMux> mux) {
  std::lock_guard lock(mu_);
  exec_mux_ = std::move(mux);
}

std::shared_ptr<vm::ExecMux> RunnerState::exec_mux() const {
  std::lock_guard lock(mu_);
  return exec_mux_;
}

}  // namespace mcpvm::runner
