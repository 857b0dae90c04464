// The CLI side of the VM lifecycle: launching a detached runner and waiting for readiness, listing with
// reconciliation, stopping (graceful through the runner, forced for orphans), removing, and finding every
// process of a VM even when its state file is gone or corrupt (/proc scan for the VM's directory).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runner/state.h"

namespace mcpvm::runner {

struct LaunchResult {
  std::string name;
  VmState state;
};

// Claims the name (generating one when config.name is empty), saves config + state, spawns the runner
// detached and waits until the server is ready. On a readiness failure throws an Error carrying the last
// log lines; the VM stays (status error) for `logs`/`rm` unless it was --rm.
LaunchResult launch_vm(RunConfig config);

// Boots an existing, non-running VM again from its saved config. Its secrets are resolved first: a
// missing one fails before anything boots, naming it and the providers tried. The new runner binds the
// port of the VM's URL (or fails, naming it, when another process holds it); new_port: let the OS pick
// a new one instead (the URL changes). Either way the endpoint gets a new token (endpoint_token.h).
LaunchResult start_vm(const std::string& name, bool new_port = false);

// A running VM (status running or starting) is rebooted inside its runner: the endpoint's listener, URL
// and token stay, and the boot uses the secrets the runner was started with. Otherwise stop_vm +
// start_vm. Either way the secrets are resolved first (a missing one leaves the VM as it was).
LaunchResult restart_vm(const std::string& name, std::chrono::milliseconds stop_timeout);

// Graceful stop (SIGTERM to the server; after timeout the VM is powered off), then kills whatever is
// left of the VM (orphaned QEMU, a hung runner). Returns the state afterwards.
VmState stop_vm(const std::string& name, std::chrono::milliseconds timeout);

// Removes a VM. Without force a running VM is refused; with force it is killed first. Orphans are always
// killed, also when state.json is corrupt or missing.
void remove_vm(const std::string& name, bool force);

struct VmListing {
  std::string name;
  std::optional<VmState> state;  // nullopt: state.json unreadable
  Reconciled status{Status::error, ""};
};
VmListing describe_vm(const std::string& name);
std::vector<VmListing> list_vms();

// Live processes belonging to the VM directory (the runner, QEMU), found by scanning /proc command
// lines, excluding the calling process.
std::vector<ProcessIdentity> find_vm_processes(const VmDir& dir);

// Kills every live process of the VM (pid + start time checked); returns how many there were.
int kill_vm_processes(const VmDir& dir, std::chrono::milliseconds grace);

// This mcpvm executable (/proc/self/exe): what the runner is spawned as, and what clients that spawn
// `mcpvm proxy stdio NAME` are told to run.
std::filesystem::path own_executable();

// The last lines of the server log and console, for failure messages.
std::string recent_logs(const VmDir& dir, long lines);

}  // namespace mcpvm::runner
