// The runner: one long-lived host process per VM (`mcpvm __runner DIR`, spawned detached by `run` and
// `start`). It holds runner.lock for its whole life, owns QEMU as its child (QEMU gets PDEATHSIG, so it
// dies with the runner), serves the MCP endpoint on 127.0.0.1 and the control socket, probes readiness,
// applies the restart policy, and records everything in state.json.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "runner/state.h"
#include "vm/vm.h"

namespace mcpvm::runner {

struct RunnerHooks {
  // Gives one run of the VM its network: sets spec.network_fd / spec.guest.network and returns what must
  // stay alive while the VM runs (the UserNetwork). Unset or returning null: no network.
  std::function<std::shared_ptr<void>(const RunConfig&, vm::VmSpec&)> attach_network;
};

// Runs the runner for the VM in `dir` until the VM is stopped or exits for good. Returns the process
// exit code (0 when it ended as recorded in state.json).
int run_runner(const VmDir& dir, const RunnerHooks& hooks);

// Test knob: MCPVM_RESTART_DELAY_MS replaces the 5 s initial restart delay (the 60 s cap scales with it).
BackoffSettings restart_backoff_from_env();

}  // namespace mcpvm::runner
