// Booter: one boot of a detached VM after another, each from start to end: the user network
// (boot_network.h), the server's channel attached behind the runner's MCP endpoint, QEMU under the attach
// session (vm/attach.h) with the exec multiplexer, and the readiness probe that marks the VM running. What
// happens between boots (restart policy, stop, signals) is the supervisor's (runner.cpp), and so is the
// endpoint: one listener for the runner's whole life, which answers 503 between boots.
//
// Thread-safety: boot() runs on the supervisor's thread; it starts and joins its own prober thread, and
// reaches the endpoint's thread only through Endpoint::attach_upstream()/detach_upstream(). Other
// threads reach the boot only through RunnerState.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mcp/endpoint.h"
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

// The endpoint's settings for a VM (port, token, tool policy, audit), without a server: the runner makes
// one Endpoint of it and attaches each boot's server to it.
mcp::EndpointConfig endpoint_config(const RunConfig& config, uint16_t port, const std::string& bearer_token);

class Booter {
 public:
  // stderr_fd / console_fd: the write ends of the runner's log pumps, shared by every boot.
  // secrets: the CLI's delivery, resolved again at each boot (outlives the Booter).
  // endpoint: the runner's endpoint (serving on its own thread; outlives the Booter); bearer_token: its
  // token ("" without authentication), which the readiness probe sends.
  Booter(const VmDir& dir, const RunConfig& config, RunnerState& state, int stderr_fd, int console_fd,
         const secrets::Delivery& secrets, mcp::Endpoint& endpoint, std::string bearer_token);

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
  mcp::Endpoint& endpoint_;
  const std::string bearer_token_;  // the endpoint's credential; empty with --endpoint-auth none
};

}  // namespace mcpvm::runner
