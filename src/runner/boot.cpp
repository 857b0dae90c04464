#include "runner/boot.h"

#include <atomic>
#include <thread>

#include "guest/secrets_message.h"
#include "mcp/endpoint.h"
#include "mcp/endpoint_url.h"
#include "runner/boot_network.h"
#include "runner/probe.h"
#include "runner/runner_log.h"
#include "util/backoff.h"
#include "util/error.h"
#include "util/socket.h"
#include "vm/attach.h"

namespace mcpvm::runner {

using Clock = std::chrono::steady_clock;

namespace {

// Probes start fast (a warm server answers in well under a second) and settle at one every 2 s.
constexpr std::chrono::milliseconds kProbeFirstRetry{100};
constexpr std::chrono::milliseconds kProbeMaxRetry{2000};

// The server of one boot, as the endpoint reaches it: the VM's stdio channel, or (an HTTP server) the
// forward of its guest port in the VM's directory.
mcp::Upstream upstream_of(const RunConfig& config, const std::string& upstream_socket, int read_fd,
                          int write_fd) {
  if (config.mcp.transport == Transport::stdio) return mcp::StdioUpstream{read_fd, write_fd};
  mcp::HttpUpstream up;
  up.unix_socket = upstream_socket;
  if (config.mcp.transport == Transport::sse) up.transport = mcp::HttpUpstream::Transport::sse;
  return up;
}

}  // namespace

mcp::EndpointConfig endpoint_config(const RunConfig& config, uint16_t port, const std::string& bearer_token) {
  mcp::EndpointConfig c;
  c.port = port;
  c.bearer_token = bearer_token;
  c.tools = mcp::ToolPolicy(config.mcp.tools, config.mcp.tools_override);
  c.audit_arguments = config.mcp.audit_arguments;
  return c;
}

Booter::Booter(const VmDir& dir, const RunConfig& config, RunnerState& state, int stderr_fd, int console_fd,
               const secrets::Delivery& secrets, mcp::Endpoint& endpoint, std::string bearer_token)
    : dir_(dir),
      config_(config),
      state_(state),
      stderr_fd_(stderr_fd),
      console_fd_(console_fd),
      secrets_(secrets),
      endpoint_(endpoint),
      bearer_token_(std::move(bearer_token)) {}

std::unique_ptr<BootNetwork> Booter::attach_network(vm::VmSpec& spec) {
  bool http_server = config_.mcp.transport != Transport::stdio;
  if (!config_.network.enabled) {
    if (http_server)
      fail("--transport {} needs the VM's network, but it was started with --network none",
           to_string(config_.mcp.transport));
    return nullptr;
  }
  auto network = http_server ? start_network_with_upstream_forward() : start_network({});
  spec.network_fd = network->qemu_fd();
  spec.guest.network = net::guest_network_config(config_.network, spec.guest.hostname);
  return network;
}

std::unique_ptr<BootNetwork> Booter::start_network(
    const std::vector<net::PortForward>& extra_forwards) const {
  return std::make_unique<BootNetwork>(config_.network, extra_forwards, dir_.root() / "network.json");
}

// An HTTP server (--transport sse|streamable-http): its guest port is forwarded from a Unix socket in the
// VM's 0700 directory through the VM's user network; the endpoint's HttpUpstream connects to it. No TCP
// port on the host leads to the server, so nothing reaches it without passing the endpoint's checks.
std::unique_ptr<BootNetwork> Booter::start_network_with_upstream_forward() {
  net::PortForward forward;
  forward.host_unix_path = dir_.upstream_socket().string();
  forward.guest_port = config_.mcp.target_port;
  auto network = start_network({forward});
  note("forwarding {} to the server's port {} in the guest", forward.host_unix_path, config_.mcp.target_port);
  return network;
}

// This boot's secrets, resolved before anything starts. A secret that is gone (removed from the store
// since `run`) fails the boot before QEMU starts, as an error the restart policy does not retry.
std::vector<std::string> Booter::resolve_secrets(BootResult& result) const {
  try {
    return secrets::resolve_env(config_.secrets, secrets_);
  } catch (const Error&) {
    result.ready_failed = true;
    throw;
  }
}

bool Booter::probe_once(std::string& detail) const {
  if (config_.mcp.transport == Transport::stdio)
    return probe_mcp_initialize(endpoint_.port(), "/mcp", bearer_token_, std::chrono::seconds(5), detail);
  return probe_http(dir_.upstream_socket(), std::chrono::seconds(2), detail);
}

void Booter::probe_until_ready(const std::atomic<bool>& boot_over, std::atomic<bool>& ready_failed) {
  auto deadline = Clock::now() + config_.timeouts.ready;
  std::string detail;
  bool ready = retry_with_backoff([&] { return probe_once(detail); }, deadline,
                                  Backoff(kProbeFirstRetry, kProbeMaxRetry),
                                  [&] { return boot_over.load() || state_.stop_requested(); });
  if (ready) {
    note("ready");
    state_.update([](VmState& s) { s.status = Status::running; });
    return;
  }
  if (boot_over || state_.stop_requested()) return;
  std::string why = fmt::format("the server was not ready within {} s ({})", config_.timeouts.ready.count(),
                                detail.empty() ? "no answer" : detail);
  note("{}: stopping the VM", why);
  ready_failed = true;
  state_.update([&](VmState& s) { s.message = why; });
  state_.stop_vm(std::chrono::seconds(5));
}

BootResult Booter::boot() {
  state_.update([](VmState& s) {
    s.status = Status::starting;
    s.started_at = unix_now();
    s.message.clear();
  });
  BootResult result;
  std::atomic<bool> ready_failed{false};
  auto started = Clock::now();
  auto [endpoint_write, vm_in] = stream_socketpair();
  auto [vm_out, endpoint_read] = stream_socketpair();
  bool attached = false;
  std::vector<std::string> secret_env;
  try {
    secret_env = resolve_secrets(result);
    vm::VmSpec spec = vm_spec(config_);
    spec.console_log = dir_.console_log();
    spec.console_fd = console_fd_;
    spec.owner_tag = dir_.root().string() + "/";  // find_vm_processes() knows our QEMU by it
    auto network = attach_network(spec);          // before the endpoint: an HTTP upstream needs the forward
    endpoint_.attach_upstream(
        upstream_of(config_, dir_.upstream_socket().string(), endpoint_read.get(), endpoint_write.get()));
    attached = true;

    vm::Vm machine = vm::Vm::start(spec);
    if (!secret_env.empty()) {  // the first frame on ctl; it waits in the socket until the init reads it
      std::string payload = guest::encode_secrets(secret_env);
      secrets::wipe(secret_env);
      machine.send(guest::MsgType::Secrets, payload);
      secrets::wipe(payload);
    }
    if (network) network->release_qemu_fd();  // QEMU holds its own copy now
    state_.update([&](VmState& s) { s.qemu = identify(machine.qemu_pid()).value_or(ProcessIdentity{}); });
    note("QEMU started (pid {})", machine.qemu_pid());

    std::atomic<bool> boot_over{false};
    std::thread prober([&] { probe_until_ready(boot_over, ready_failed); });
    vm::AttachOptions attach;
    attach.in = vm_in.get();
    attach.out = vm_out.get();
    attach.err = stderr_fd_;
    attach.stop_timeout = std::chrono::hours(24);  // a stop request enforces its own timeout
    attach.boot_timeout = spec.boot_timeout;
    attach.handle_signals = false;  // the supervisor owns them: a signal is a final stop, not a restart
    attach.stop_fd = state_.stop_event_fd();
    attach.exec = vm::ExecMux::create();
    state_.set_exec_mux(attach.exec);
    try {
      result.code = vm::run_attached(machine, attach);
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    state_.set_exec_mux(nullptr);
    attach.exec->close(fmt::format("the VM {} stopped while the command ran", dir_.name()));
    state_.mark_vm_down();
    boot_over = true;
    prober.join();
  } catch (const std::exception& e) {  // Error, or anything a library below throws
    result.error = e.what();
  }
  secrets::wipe(secret_env);
  if (!result.error.empty()) note("run failed: {}", result.error);
  if (attached) {
    try {  // until the next boot attaches its server, clients get 503 (the listener stays ours)
      endpoint_.detach_upstream("the VM is restarting or stopping");
    } catch (const std::exception& e) {
      note("detaching the server from the endpoint: {}", e.what());
    }
  }
  result.uptime = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  result.ready_failed = result.ready_failed || ready_failed;  // or set by resolve_secrets
  return result;
}

}  // namespace mcpvm::runner
