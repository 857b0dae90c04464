#include "runner/runner.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "mcp/endpoint.h"
#include "runner/control.h"
#include "runner/exec_bridge.h"
#include "runner/log_file.h"
#include "runner/probe.h"
#include "runner/vm_spec_json.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/signal_fd.h"
#include "vm/attach.h"

namespace mcpvm::runner {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// The runner's own log lines go to logs/runner.log, capped and rotated like the other logs; stderr (where
// library messages go) points at its current file. Before run_runner opened it: plain stderr, which the
// spawner pointed at the same file.
std::mutex g_runner_log_mutex;
std::unique_ptr<RotatingLog> g_runner_log;

template <typename... Args>
void note(fmt::format_string<Args...> f, Args&&... args) {
  std::string line = fmt::format("{} runner: {}\n", unix_now(), fmt::format(f, std::forward<Args>(args)...));
  std::lock_guard lock(g_runner_log_mutex);
  if (g_runner_log) {
    g_runner_log->write(line);
  } else {
    [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
  }
}

// A port on 127.0.0.1 that is free right now (bound to 0, read back, released). Whoever binds it next may
// lose a race with another process; callers retry.
uint16_t free_loopback_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) fail_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail_errno("finding a free port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

std::pair<UniqueFd, UniqueFd> socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail_errno("socketpair");
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

struct RunResult {
  std::optional<int> code;  // the server's exit status (shell convention); nullopt: the VM failed
  std::string error;
  std::chrono::milliseconds uptime{0};
};

class Runner {
 public:
  Runner(VmDir dir, RunnerHooks hooks) : dir_(std::move(dir)), hooks_(std::move(hooks)) {}

  int run() {
    FileLock lock = FileLock::try_lock(dir_.runner_lock());
    if (!lock.locked()) {
      note("another runner already owns {}", dir_.root().string());
      return 1;
    }
    block_termination_signals();
    SignalFd termination{SIGINT, SIGTERM, SIGHUP};
    stop_event_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_event_) fail_errno("eventfd");
    config_ = dir_.load_config();
    spec_ = spec_from_json(config_.vm.at("spec"));
    init_state();
    listener_ = listen_control(dir_.control_socket());
    auto [wake_r, wake_w] = socket_pair();
    wake_r_ = std::move(wake_r);
    wake_w_ = std::move(wake_w);
    std::thread control([this] { serve_control(); });
    std::thread signal_watcher([&] { watch_signals(termination); });
    LogPump stderr_pump(dir_.server_log());
    stderr_vm_fd_ = stderr_pump.vm_side();
    LogPump console_pump(dir_.console_log());  // not a file QEMU writes: that one would grow unbounded
    console_vm_fd_ = console_pump.vm_side();

    supervise();

    ::unlink(dir_.control_socket().c_str());
    ::shutdown(wake_w_.get(), SHUT_RDWR);
    control.join();
    signal_watcher.join();
    join_connections();
    note("done: {}", to_string(snapshot().status));
    if (config_.remove_on_exit) dir_.remove();
    return 0;
  }

 private:
  // SIGTERM/SIGINT/SIGHUP stay blocked in every thread; watch_signals() reads them from a signalfd, at
  // any moment of the runner's life (booting, running, waiting to restart), and stops the VM for good.
  static void block_termination_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
  }

  void init_state() {
    std::lock_guard lock(mu_);
    try {
      state_ = dir_.load_state();
    } catch (const Error&) {
      state_ = VmState{};
      state_.created_at = unix_now();
    }
    endpoint_port_ = port_of(state_.endpoint);  // keep the URL of an earlier run when the port is free
    if (uint16_t fixed = proxy_port()) endpoint_port_ = fixed;
    state_.name = dir_.name();
    state_.image = config_.image;
    state_.runner = self_identity();
    state_.qemu = {};
    state_.boot_id = current_boot_id();
    state_.status = Status::starting;
    state_.message.clear();
    state_.exit_code.reset();
    state_.finished_at = 0;
    dir_.save_state(state_);
  }

  template <typename Fn>
  void update(Fn&& fn) {
    std::lock_guard lock(mu_);
    fn(state_);
    try {
      dir_.save_state(state_);
    } catch (const Error& e) {
      note("{}", e.what());  // e.g. a full disk: keep running, the next write may succeed
    }
    cv_.notify_all();
  }

  VmState snapshot() {
    std::lock_guard lock(mu_);
    return state_;
  }

  void supervise() {
    RestartTracker tracker(config_.restart, restart_backoff_from_env());
    for (;;) {
      if (stop_requested_) {
        update([](VmState& s) { s.status = Status::stopped; });
        return;
      }
      RunResult r = run_once();
      bool user_stop = stop_requested_ && !ready_failed_;
      std::optional<std::chrono::milliseconds> delay;
      if (!ready_failed_ && !user_stop) delay = tracker.on_exit(r.code, r.uptime, false);
      // One write per ended run: the outcome and the next status together. (Written apart, state.json
      // said "running" with no QEMU until the second write, and readers took that for the restarted run.)
      update([&](VmState& s) {
        s.exit_code = r.code;
        s.qemu = {};
        s.finished_at = unix_now();
        if (!r.error.empty()) s.message = r.error;
        if (delay) {
          s.status = Status::restarting;
          s.restart_count = tracker.restarts();
        } else if (ready_failed_) {
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
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, *delay, [this] { return stop_requested_.load(); });
    }
  }

  static uint16_t port_of(const std::string& url) {
    auto colon = url.rfind(':');
    if (colon == std::string::npos) return 0;
    int port = std::atoi(url.c_str() + colon + 1);
    return port > 0 && port < 65536 ? uint16_t(port) : 0;
  }

  bool is_stdio() const { return config_.vm.value("transport", std::string("stdio")) == "stdio"; }
  // --proxy-port: the endpoint must get exactly this port (no fallback). 0: not fixed.
  uint16_t proxy_port() const { return uint16_t(config_.vm.value("proxy_port", 0)); }

  // An HTTP server (--transport sse|streamable-http): its guest port (vm.target_port) is forwarded from
  // a fresh loopback port through the VM's user network, as if the user had passed -p; the endpoint's
  // HttpUpstream connects to that port. Retries when another process took the free port first.
  std::shared_ptr<void> attach_forwarded_network(vm::VmSpec& spec) {
    const int target = config_.vm.value("target_port", 0);
    if (target <= 0 || target > 65535) fail("config.json: vm.target_port is missing or not a port");
    if (!hooks_.attach_network) fail("this build has no user network: HTTP transports cannot be reached");
    for (int attempt = 1;; ++attempt) {
      upstream_port_ = free_loopback_port();
      RunConfig with_forward = config_;
      json& flags = with_forward.vm["network_flags"];
      if (!flags.is_object()) flags = json::object();
      if (flags.value("network", "") == "none")
        fail("--transport {} needs the VM's network, but it was started with --network none",
             config_.vm.value("transport", ""));
      if (!flags.contains("publish") || !flags["publish"].is_array()) flags["publish"] = json::array();
      flags["publish"].push_back(fmt::format("127.0.0.1:{}:{}", upstream_port_, target));
      std::shared_ptr<void> network;
      try {
        network = hooks_.attach_network(with_forward, spec);
      } catch (const Error& e) {
        if (attempt == 5) throw;
        note("forwarding 127.0.0.1:{} failed ({}); trying another port", upstream_port_, e.what());
        continue;
      }
      if (!network) fail("the VM has no network: the server's port {} cannot be reached", target);
      note("forwarding 127.0.0.1:{} to the server's port {} in the guest", upstream_port_, target);
      return network;
    }
  }

  mcp::EndpointConfig endpoint_config(int read_fd, int write_fd) const {
    mcp::EndpointConfig c;
    c.port = endpoint_port_;
    if (is_stdio()) {
      c.upstream = mcp::StdioUpstream{read_fd, write_fd};
    } else {
      mcp::HttpUpstream up;
      up.port = upstream_port_;
      if (config_.vm.value("transport", "") == "sse") up.transport = mcp::HttpUpstream::Transport::sse;
      c.upstream = up;
    }
    return c;
  }

  bool probe_once(std::string& detail) {
    if (is_stdio()) return probe_mcp_initialize(endpoint_port_, "/mcp", std::chrono::seconds(5), detail);
    return probe_http(upstream_port_, std::chrono::seconds(2), detail);
  }

  RunResult run_once() {
    ready_failed_ = false;
    update([](VmState& s) {
      s.status = Status::starting;
      s.started_at = unix_now();
      s.message.clear();
    });
    RunResult result;
    auto started = Clock::now();
    auto [ep_write, vm_in] = socket_pair();
    auto [vm_out, ep_read] = socket_pair();
    std::optional<mcp::Endpoint> endpoint;
    std::thread endpoint_thread;
    try {
      vm::VmSpec spec = spec_;
      spec.console_log = dir_.console_log();
      spec.console_fd = console_vm_fd_;
      spec.owner_tag = dir_.root().string() + "/";  // find_vm_processes() knows our QEMU by it
      std::shared_ptr<void> network;  // before the endpoint: an HTTP upstream needs the forwarded port
      if (!is_stdio())
        network = attach_forwarded_network(spec);
      else if (hooks_.attach_network)
        network = hooks_.attach_network(config_, spec);
      try {
        endpoint.emplace(endpoint_config(ep_read.get(), ep_write.get()));
      } catch (const Error& e) {
        if (proxy_port()) fail("--proxy-port {}: {}", proxy_port(), e.what());
        if (endpoint_port_ == 0) throw;
        note("port {} of the previous run is taken ({}); using a new one", endpoint_port_, e.what());
        endpoint_port_ = 0;
        endpoint.emplace(endpoint_config(ep_read.get(), ep_write.get()));
      }
      endpoint_port_ = endpoint->port();
      endpoint_thread = std::thread([&] { endpoint->run(); });
      update([&](VmState& s) { s.endpoint = endpoint->url(); });

      vm::Vm machine = vm::Vm::start(spec);
      update([&](VmState& s) { s.qemu = identify(machine.qemu_pid()).value_or(ProcessIdentity{}); });
      note("QEMU started (pid {})", machine.qemu_pid());

      std::atomic<bool> run_over{false};
      std::thread prober([&] { probe_until_ready(run_over); });
      vm::AttachOptions attach;
      attach.in = vm_in.get();
      attach.out = vm_out.get();
      attach.err = stderr_vm_fd_;
      attach.stop_timeout = std::chrono::hours(24);  // the stop request enforces its own -t
      attach.boot_timeout = spec.boot_timeout;
      attach.handle_signals = false;  // watch_signals() owns them: a signal is a final stop, not a restart
      attach.stop_fd = stop_event_.get();
      attach.exec = open_exec_mux();
      try {
        result.code = vm::run_attached(machine, attach);
      } catch (const std::exception& e) {
        result.error = e.what();
      }
      close_exec_mux();
      mark_vm_down();
      run_over = true;
      prober.join();
    } catch (const std::exception& e) {  // Error, or anything a library below throws
      result.error = e.what();
    }
    if (!result.error.empty()) note("run failed: {}", result.error);
    if (endpoint) endpoint->stop();
    if (endpoint_thread.joinable()) endpoint_thread.join();
    result.uptime = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    return result;
  }

  // Wakes stop requests waiting for this run's VM to go down.
  void mark_vm_down() {
    {
      std::lock_guard lock(mu_);
      vm_down_generation_++;
      state_.qemu = {};
    }
    cv_.notify_all();
  }

  void probe_until_ready(const std::atomic<bool>& run_over) {
    auto deadline = Clock::now() + std::chrono::seconds(config_.ready_timeout_s);
    std::string detail;
    bool ready = retry_with_backoff([&] { return probe_once(detail); }, deadline,
                                    [&] { return run_over.load() || stop_requested_.load(); });
    if (ready) {
      note("ready");
      update([](VmState& s) { s.status = Status::running; });
      return;
    }
    if (run_over || stop_requested_) return;
    std::string why = fmt::format("the server was not ready within {} s ({})", config_.ready_timeout_s,
                                  detail.empty() ? "no answer" : detail);
    note("{}: stopping the VM", why);
    ready_failed_ = true;
    update([&](VmState& s) { s.message = why; });
    stop_vm(std::chrono::seconds(5));
  }

  // Graceful stop: SIGTERM to the server through the init; after `grace`, QEMU is terminated.
  void stop_vm(std::chrono::milliseconds grace) {
    stop_requested_ = true;
    cv_.notify_all();
    uint64_t generation;
    ProcessIdentity qemu;
    {
      std::lock_guard lock(mu_);
      generation = vm_down_generation_;
      qemu = state_.qemu;
    }
    uint64_t one = 1;  // the attach session forwards SIGTERM to the server (stays readable: no lost wakeup)
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

  // What `mcpvm stop` and a termination signal do: the server gets SIGTERM, QEMU is ended after
  // `timeout_s`, and the restart policy no longer applies (supervise() records `stopped`).
  void request_stop(double timeout_s) {
    update([](VmState& s) {
      if (s.status == Status::starting || s.status == Status::running) s.status = Status::stopping;
    });
    stop_vm(std::chrono::milliseconds(long(std::max(0.0, timeout_s) * 1000)));
  }

  // SIGTERM/SIGINT/SIGHUP sent to the runner (`kill PID`, a host shutdown): a final stop, as `mcpvm stop`
  // with the VM's --stop-timeout. Before, the attach session forwarded them to the server and the
  // restart policy then booted the VM again (with --restart always, `kill PID` restarted it).
  void watch_signals(SignalFd& signals) {
    for (;;) {
      pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {wake_r_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents) return;
      int sig = signals.take();
      if (sig == 0) continue;
      const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "SIGHUP";
      if (stop_requested_) {
        note("{} received: the VM is already stopping", name);
        continue;
      }
      auto saved = config_.vm.find("stop_timeout_s");  // run --stop-timeout; older configs have none
      double t = saved != config_.vm.end() && saved->is_number() ? saved->get<double>() : 10.0;
      note("{} received: stopping the VM for good (no restart; timeout {} s)", name, t);
      try {
        request_stop(t);
      } catch (const std::exception& e) {  // nothing may escape this thread
        note("stopping after {}: {}", name, e.what());
      }
    }
  }

  void serve_control() {
    for (;;) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_r_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents) return;
      if (!(fds[0].revents & POLLIN)) continue;
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(connections_mu_);
      connection_fds_.push_back(fd);
      connections_.emplace_back([this, fd] { handle_connection(fd); });
    }
  }

  void join_connections() {
    std::lock_guard lock(connections_mu_);
    for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : connections_) t.join();
    for (int fd : connection_fds_) ::close(fd);
  }

  void handle_connection(int fd) {
    ControlChannel channel{UniqueFd(::dup(fd))};
    try {
      auto request = channel.receive(10000);
      if (!request) return;
      std::string op = request->value("op", "");
      if (op == "status") {
        channel.send({{"ok", true}, {"state", to_json(snapshot())}});
      } else if (op == "stop") {
        double t = request->value("timeout_s", 10.0);
        note("stop requested (timeout {} s)", t);
        request_stop(t);
        channel.send({{"ok", true}, {"state", to_json(snapshot())}});
      } else if (op == "exec") {
        serve_exec(channel, *request);
      } else {
        channel.send({{"ok", false}, {"error", fmt::format("unknown control request \"{}\"", op)}});
      }
    } catch (const Error& e) {
      try {
        channel.send({{"ok", false}, {"error", e.what()}});
      } catch (const Error&) {
      }
    }
  }

  // --- exec (`mcpvm exec`): one ExecMux per run of the VM, bridged to control connections ---
  std::shared_ptr<vm::ExecMux> open_exec_mux() {
    std::lock_guard lock(mu_);
    exec_mux_ = vm::ExecMux::create();
    return exec_mux_;
  }

  void close_exec_mux() {
    std::shared_ptr<vm::ExecMux> mux;
    {
      std::lock_guard lock(mu_);
      mux = std::move(exec_mux_);
    }
    if (mux) mux->close(fmt::format("the VM {} stopped while the command ran", dir_.name()));
  }

  void serve_exec(ControlChannel& channel, const json& request) {
    std::shared_ptr<vm::ExecMux> mux;
    Status status;
    {
      std::lock_guard lock(mu_);
      mux = exec_mux_;
      status = state_.status;
    }
    if (!mux || status != Status::running)
      fail("VM {} is not running (status: {})", dir_.name(), to_string(status));
    try {
      bridge_exec(channel, request, *mux);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {  // nothing may escape a connection thread
      fail("exec: {}", e.what());
    }
  }

  std::shared_ptr<vm::ExecMux> exec_mux_;  // guarded by mu_; null between runs

  VmDir dir_;
  RunnerHooks hooks_;
  RunConfig config_;
  vm::VmSpec spec_;
  std::mutex mu_;
  std::condition_variable cv_;
  VmState state_;
  uint64_t vm_down_generation_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> ready_failed_{false};
  uint16_t endpoint_port_ = 0;
  uint16_t upstream_port_ = 0;  // HTTP servers: this run's loopback port forwarded to the guest
  int stderr_vm_fd_ = -1;
  int console_vm_fd_ = -1;
  UniqueFd listener_, wake_r_, wake_w_;
  UniqueFd stop_event_;  // eventfd: written by stop_vm(), polled by the attach session
  std::mutex connections_mu_;
  std::vector<std::thread> connections_;
  std::vector<int> connection_fds_;
};

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

int run_runner(const VmDir& dir, const RunnerHooks& hooks) {
  try {
    std::lock_guard lock(g_runner_log_mutex);
    g_runner_log = std::make_unique<RotatingLog>(dir.runner_log());
    g_runner_log->mirror_to_fd(2);
  } catch (const Error& e) {
    note("cannot open the runner log, logging to stderr: {}", e.what());
  }
  try {
    return Runner(dir, hooks).run();
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
