#include "runner/runner.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <thread>

#include "mcp/bearer_auth.h"
#include "mcp/endpoint_url.h"
#include "runner/boot.h"
#include "runner/control_server.h"
#include "runner/endpoint_token.h"
#include "runner/exec_bridge.h"
#include "runner/log_file.h"
#include "runner/runner_log.h"
#include "runner/runner_state.h"
#include "secrets/delivery.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/signal_fd.h"
#include "util/socket.h"

namespace mcpvm::runner {

namespace {

// SIGTERM/SIGINT/SIGHUP stay blocked in every thread; watch_signals() reads them from a signalfd, at any
// moment of the runner's life (booting, running, waiting to restart), and stops the VM for good.
void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// The state a new runner starts from: what an earlier runner left (endpoint URL, counters, creation time),
// now starting under this process.
VmState initial_state(const VmDir& dir, const RunConfig& config) {
  VmState s;
  try {
    s = dir.load_state();
  } catch (const Error&) {
    s.created_at = unix_now();
  }
  s.name = dir.name();
  s.image = config.image;
  s.runner = self_identity();
  s.qemu = {};
  s.boot_id = current_boot_id();
  s.status = Status::starting;
  s.message.clear();
  s.exit_code.reset();
  s.finished_at = 0;
  return s;
}

// The runner's MCP endpoint: bound once, before the first boot, on the port of the VM's URL, and kept
// until the runner ends; each boot attaches its server to it (Booter). Its token is published only once
// the port is ours (endpoint_token.h). A URL whose port another process took while no runner held it is
// refused loudly: moving to a new port would leave clients talking to that process.
// Threads: built and destroyed on the supervisor's thread; serve() runs on its own thread.
class RunnerEndpoint {
 public:
  RunnerEndpoint(const VmDir& dir, const RunConfig& config, RunnerState& state)
      : audit_log_(dir.audit_log()) {
    if (config.mcp.auth == EndpointAuth::bearer) token_ = mcp::new_bearer_token();  // in memory only, for now
    uint16_t port = config.mcp.proxy_port;
    std::optional<mcp::EndpointUrl> previous = mcp::parse_endpoint_url(state.snapshot().endpoint);
    if (!port && previous) port = previous->port;
    mcp::EndpointConfig c = endpoint_config(config, port, token_);
    c.audit = [this](const mcp::AuditRecord& r) { audit_log_.write(mcp::to_json(r).dump() + "\n"); };
    try {
      endpoint_.emplace(std::move(c));
    } catch (const Error& e) {
      if (config.mcp.proxy_port) fail("--proxy-port {}: {}", config.mcp.proxy_port, e.what());
      fail(
          "port {} of {}'s URL {} is taken by another process, so a client using that URL would reach it "
          "instead of the VM (and hand it the endpoint token); find it with `ss -ltnp 'sport = :{}'`, "
          "and start the VM once the port is free, or with `mcpvm start --new-port {}`",
          port, dir.name(), previous ? previous->streamable_http() : "", port, dir.name());
    }
    if (!token_.empty()) publish_endpoint_token(dir, token_);
    state.update([&](VmState& s) { s.endpoint = endpoint_->url(); });
    thread_ = std::thread([this] { endpoint_->run(); });
  }
  ~RunnerEndpoint() {
    endpoint_->stop();
    thread_.join();
  }
  RunnerEndpoint(const RunnerEndpoint&) = delete;
  RunnerEndpoint& operator=(const RunnerEndpoint&) = delete;

  mcp::Endpoint& endpoint() { return *endpoint_; }
  const std::string& bearer_token() const { return token_; }

 private:
  std::string token_;  // empty with --endpoint-auth none
  // logs/audit.log: one JSON line per client request (docs/mcp.md "Audit log"); written only by the
  // endpoint's thread.
  RotatingLog audit_log_;
  std::optional<mcp::Endpoint> endpoint_;
  std::thread thread_;
};

// The supervisor: boots the VM, applies the restart policy between boots, and serves stop requests from
// the control socket and termination signals. Owns everything the runner process holds.
class Supervisor {
 public:
  Supervisor(VmDir dir, RunConfig config, secrets::Delivery secrets)
      : dir_(std::move(dir)), config_(std::move(config)), secrets_(std::move(secrets)) {}

  int run() {
    block_termination_signals();
    SignalFd termination{SIGINT, SIGTERM, SIGHUP};
    RunnerState state(dir_, initial_state(dir_, config_));
    state_ = &state;
    RunnerEndpoint endpoint(dir_, config_, state);
    LogPump stderr_pump(dir_.server_log());
    LogPump console_pump(dir_.console_log());  // not a file QEMU writes: that one would grow unbounded
    Booter booter(dir_, config_, state, stderr_pump.vm_side(), console_pump.vm_side(), secrets_,
                  endpoint.endpoint(), endpoint.bearer_token());
    auto [wake_read, wake_write] = stream_socketpair();
    std::thread signal_watcher([&, fd = wake_read.get()] { watch_signals(termination, fd); });
    {
      ControlServer control(listen_control(dir_.control_socket()),
                            [this](ControlChannel& channel) { handle_control(channel); });
      supervise(booter);
      ::unlink(dir_.control_socket().c_str());
    }  // the control server stops here: open exec sessions end, pending stop requests are answered
    wake_write.reset();
    signal_watcher.join();
    note("done: {}", to_string(state.snapshot().status));
    state_ = nullptr;
    if (config_.remove_on_exit) dir_.remove();
    return 0;
  }

 private:
  void supervise(Booter& booter) {
    RestartTracker tracker(config_.restart, restart_backoff_from_env());
    for (;;) {
      if (state_->stop_requested()) {
        state_->update([](VmState& s) { s.status = Status::stopped; });
        return;
      }
      BootResult r = booter.boot();
      if (state_->take_reboot_request() && !state_->stop_requested()) {  // `mcpvm restart`
        note("restarting the VM (mcpvm restart)");
        state_->update([&](VmState& s) {
          s.exit_code = r.code;
          s.qemu = {};
          s.finished_at = unix_now();
          s.status = Status::restarting;
        });
        continue;
      }
      bool user_stop = state_->stop_requested() && !r.ready_failed;
      std::optional<std::chrono::milliseconds> delay;
      if (!r.ready_failed && !user_stop) delay = tracker.on_exit(r.code, r.uptime, false);
      // One write per ended boot: the outcome and the next status together. (Written apart, state.json
      // said "running" with no QEMU until the second write, and readers took that for the restarted run.)
      state_->update([&](VmState& s) {
        s.exit_code = r.code;
        s.qemu = {};
        s.finished_at = unix_now();
        if (!r.error.empty()) s.message = r.error;
        if (delay) {
          s.status = Status::restarting;
          s.restart_count = tracker.restarts();
        } else if (r.ready_failed) {
          s.status = Status::error;
        } else if (user_stop) {
          s.status = Status::stopped;
        } else {
          s.status = r.code ? Status::exited : Status::error;
        }
      });
      if (!delay) return;
      note("run ended ({}); restart {} in {} ms", r.code ? fmt::format("exit {}", *r.code) : r.error,
           tracker.restarts(), delay->count());
      state_->wait_for_stop(*delay);
    }
  }

  // What `mcpvm stop` and a termination signal do: the server gets SIGTERM, QEMU is ended after
  // `timeout`, and the restart policy no longer applies (supervise() records `stopped`).
  void stop_for_good(std::chrono::milliseconds timeout) {
    state_->update([](VmState& s) {
      if (s.status == Status::starting || s.status == Status::running) s.status = Status::stopping;
    });
    state_->stop_vm(timeout);
  }

  // SIGTERM/SIGINT/SIGHUP sent to the runner (`kill PID`, a host shutdown): a final stop, as `mcpvm stop`
  // with the VM's --stop-timeout (not a restart, whatever the policy).
  void watch_signals(SignalFd& signals, int wake_fd) {
    for (;;) {
      pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents) return;
      int sig = signals.take();
      if (sig == 0) continue;
      const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "SIGHUP";
      if (state_->stop_requested()) {
        note("{} received: the VM is already stopping", name);
        continue;
      }
      note("{} received: stopping the VM for good (no restart; timeout {} s)", name,
           config_.timeouts.stop.count() / 1000.0);
      try {
        stop_for_good(config_.timeouts.stop);
      } catch (const std::exception& e) {  // nothing may escape this thread
        note("stopping after {}: {}", name, e.what());
      }
    }
  }

  // One control connection (control.h); the ControlServer answers whatever this throws.
  void handle_control(ControlChannel& channel) {
    auto message = channel.receive(10000);
    if (!message) return;
    ControlRequest request = parse_control_request(*message);
    switch (request.op) {
      case ControlRequest::Op::status:
        channel.send({{"ok", true}, {"state", to_json(state_->snapshot())}});
        return;
      case ControlRequest::Op::stop:
        note("stop requested (timeout {} s)", request.stop_timeout.count() / 1000.0);
        stop_for_good(request.stop_timeout);
        channel.send({{"ok", true}, {"state", to_json(state_->snapshot())}});
        return;
      case ControlRequest::Op::restart: {
        Status now = state_->snapshot().status;
        if (state_->stop_requested() || (now != Status::running && now != Status::starting))
          fail("VM {} is {}: restart needs a running VM", dir_.name(), to_string(now));
        note("restart requested (timeout {} s)", request.stop_timeout.count() / 1000.0);
        state_->update([](VmState& s) { s.status = Status::restarting; });
        state_->reboot_vm(request.stop_timeout);
        channel.send({{"ok", true}, {"state", to_json(state_->snapshot())}});
        return;
      }
      case ControlRequest::Op::exec:
        serve_exec(channel, request.message);
        return;
    }
  }

  void serve_exec(ControlChannel& channel, const nlohmann::json& request) {
    std::shared_ptr<vm::ExecMux> mux = state_->exec_mux();
    Status status = state_->snapshot().status;
    if (!mux || status != Status::running)
      fail("VM {} is not running (status: {})", dir_.name(), to_string(status));
    std::vector<std::string> secret_env;
    if (request.value("secret_env", false)) secret_env = secrets::resolve_env(config_.secrets, secrets_);
    bridge_exec(channel, request, *mux, std::move(secret_env));
  }

  const VmDir dir_;
  const RunConfig config_;
  const secrets::Delivery secrets_;  // what the CLI resolved; each boot resolves the references again
  RunnerState* state_ = nullptr;     // set for the duration of run()
};

// --- secrets ---

// The Delivery the CLI handed over on kDeliveryFd (secrets/delivery.h), read before anything else and the
// socket closed; an empty one when the runner was started without it (then a VM with secrets fails to
// boot, naming them). The runner is made non-dumpable first: another process of the same user can then
// neither ptrace it nor read its memory or /proc/PID/environ.
secrets::Delivery receive_secrets() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct stat st;
  if (::fstat(secrets::kDeliveryFd, &st) != 0 || !S_ISSOCK(st.st_mode)) return {};
  UniqueFd fd(secrets::kDeliveryFd);
  return with_context("receiving the secrets", [&] { return secrets::receive_delivery(fd.get()); });
}

}  // namespace

BackoffSettings restart_backoff_from_env() {
  BackoffSettings b;
  if (const char* s = std::getenv("MCPVM_RESTART_DELAY_MS"); s && *s) {
    long ms = std::max(1L, std::atol(s));
    b.initial = std::chrono::milliseconds(ms);
    b.cap = std::chrono::milliseconds(ms * 12);
  }
  return b;
}

int run_runner(const VmDir& dir) {
  try {
    open_runner_log(dir.runner_log());
  } catch (const Error& e) {
    note("cannot open the runner log, logging to stderr: {}", e.what());
  }
  try {
    FileLock lock = FileLock::try_lock(dir.runner_lock());
    if (!lock.locked()) {
      note("another runner already owns {}", dir.root().string());
      return 1;
    }
    secrets::Delivery delivery = receive_secrets();
    return Supervisor(dir, dir.load_config(), std::move(delivery)).run();
  } catch (const std::exception& e) {
    note("fatal: {}", e.what());
    try {
      VmState s = dir.load_state();
      s.status = Status::error;
      s.message = e.what();
      s.qemu = {};
      dir.save_state(s);
    } catch (const Error&) {
    }
    return 1;
  }
}

}  // namespace mcpvm::runner
