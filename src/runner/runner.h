// The runner: one long-lived host process per VM (`mcpvm __runner DIR`, spawned detached by `run` and
// `start`). It holds runner.lock for its whole life, owns QEMU as its child (QEMU gets PDEATHSIG, so it
// dies with the runner), serves the MCP endpoint on 127.0.0.1 and the control socket, probes readiness,
// applies the restart policy, and records everything in state.json.
//
// Its jobs, one file each:
//   runner.cpp          the supervisor: boots, the restart policy between boots, stop requests, signals
//   boot.cpp            one boot: network, MCP endpoint, QEMU under the attach session, readiness probe
//   boot_network.cpp    the user network of one boot and its counters (network.json)
//   control_server.cpp  the control socket's connections, bounded and cleaned up
//   exec_bridge.cpp     `mcpvm exec` sessions bridged to the guest
//   runner_state.h      the state the runner's threads share, and the stop switch
//   runner_log.cpp      logs/runner.log
#pragma once

#include "runner/restart.h"
#include "runner/state.h"

namespace mcpvm::runner {

// Runs the runner for the VM in `dir` until the VM is stopped or exits for good. Returns the process
// exit code (0 when it ended as recorded in state.json).
int run_runner(const VmDir& dir);

// Test knob: MCPVM_RESTART_DELAY_MS replaces the 5 s initial restart delay (the 60 s cap scales with it).
BackoffSettings restart_backoff_from_env();

}  // namespace mcpvm::runner
