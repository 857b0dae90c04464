// Booter: one boot of a detached VM after another, each from start to end: the user network
// (boot_network.h), the MCP endpoint on 127.0.0.1 in front of the server, QEMU under the attach session
// (vm/attach.h) with the exec multiplexer, and the readiness probe that marks the VM running. What
// happens between boots (restart policy, stop, signals) is the supervisor's (runner.cpp).
//
// Thread-safety: boot() runs on the supervisor's thread; it starts and joins its own endpoint and prober
// threads. Other threads reach the boot only through RunnerState.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/log_file.h"
#include "runner/run_config.h"
#include "runner/runner_state.h"
#include "runner/state.h"
#include "secrets/delivery.h"

namespace mcpvm::runner {

struct BootResult {
  std::optional<int> code;  // the server's exit status (shell convention); nullopt: the VM failed
  std::string error;        // why it failed, when it did
  std::chrono::milliseconds uptime{0};
  bool ready_failed =
      false;  // the server never became ready (or a secret is gone): an error, not a reason to restart
};

class BootNetwork;

class Booter {
 public:
  // stderr_fd / console_fd: the write ends of the runner's log pumps, shared by every boot.
  // secrets: the CLI's delivery, resolved again at each boot (outlives the Booter).
  Booter(const VmDir& dir, const RunConfig& config, RunnerState& state, int stderr_fd, int console_fd,
         const secrets::Delivery& secrets);

  BootResult boot();

 private:
  // The boot's network (null with --network none), wired into spec.
  std::unique_ptr<BootNetwork> attach_network(vm::VmSpec& spec);
  std::unique_ptr<BootNetwork> start_network(const std::vector<net::PortForward>& extra_forwards) const;
  std::unique_ptr<BootNetwork> start_network_with_upstream_forward();
  bool probe_once(std::string& detail) const;
  std::vector<std::string> resolve_secrets(BootResult& result) const;
  void probe_until_ready(const std::atomic<bool>& boot_over, std::atomic<bool>& ready_failed);

  const VmDir& dir_;
  const RunConfig& config_;
  RunnerState& state_;
  int stderr_fd_, console_fd_;
  const secrets::Delivery& secrets_;
  // The endpoint's port: kept from boot to boot (and from the previous runner, via state.json) so the URL
  // stays the same; --proxy-port fixes it.
  uint16_t endpoint_port_ = 0;
  std::string bearer_token_;  // the endpoint's credential; empty with --endpoint-auth none
  // logs/audit.log: one JSON line per client request (docs/mcp.md "Audit log"). Written only by the
  // endpoint's thread of the current boot.
  RotatingLog audit_log_;
};

}  // namespace mcpvm::runner
