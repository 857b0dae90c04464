#include "runner/lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "runner/control.h"
#include "runner/log_file.h"
#include "runner/names.h"
#include "secrets/delivery.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"
#include "util/process.h"
#include "util/socket.h"
#include "util/terminal.h"

namespace mcpvm::runner {

namespace {

using Clock = std::chrono::steady_clock;

bool is_final(Status s) {
  return s == Status::stopped || s == Status::exited || s == Status::error;
}

// Every secret the VM refers to, resolved now, before any VM boots (secrets/delivery.h).
secrets::Delivery resolve_secrets(const RunConfig& config) {
  return secrets::prepare_delivery(config.secrets, secrets::SecretStore::default_store());
}

// Spawns `mcpvm __runner DIR` in its own session, stdio to logs/runner.log, not tied to our lifetime.
// The secrets go over a socket inherited as fd kDeliveryFd (never argv, environment or a file), and the
// runner's environment (hence QEMU's) holds no MCPVM_SECRET_* or MCPVM_SECRETS_PASSPHRASE.
ProcessIdentity spawn_runner(const VmDir& dir, const secrets::Delivery& delivery) {
  make_private_dirs(dir.logs_dir());
  UniqueFd log(::open(dir.runner_log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) fail_errno("opening {}", dir.runner_log().string());
  SpawnOptions o;
  o.stdin_null = true;
  o.fds = {{log.get(), 1}, {log.get(), 2}};
  o.new_session = true;
  o.die_with_parent = false;
  o.cwd = "/";
  o.env = secrets::environment_without_secrets();
  auto [ours, runners] = stream_socketpair();
  o.fds.push_back({runners.get(), secrets::kDeliveryFd});
  Subprocess p = Subprocess::spawn({own_executable().string(), "__runner", dir.root().string()}, o);
  runners.reset();
  try {
    secrets::send_delivery(ours.get(), delivery);
  } catch (const Error&) {
    // The runner died before reading: it reports that itself (below, or in its log and state.json).
  }
  ours.reset();
  auto id = identify(p.pid());
  p.release();  // the runner outlives us; if it dies first it is reaped when we exit
  if (!id) fail("the runner of {} exited at once; see {}", dir.name(), dir.runner_log().string());
  return *id;
}

std::string failure_with_logs(const VmDir& dir, const std::string& what) {
  std::string logs = recent_logs(dir, 15);
  return logs.empty() ? what : fmt::format("{}\n--- last log lines ---\n{}", what, logs);
}

// Polls state.json until the runner reports the server ready (running, with a QEMU other than
// `previous_qemu`: the boot that a restart ended does not count) or gives up.
VmState wait_until_ready(const VmDir& dir, const ProcessIdentity& runner, std::chrono::seconds timeout,
                         const ProcessIdentity& previous_qemu = {}) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::optional<VmState> s;
    try {
      s = dir.load_state();
    } catch (const Error&) {
      // being replaced right now, or the VM was removed (--rm after a failure)
    }
    if (!dir.exists()) fail("the VM {} ended before it was ready (it was started with --rm)", dir.name());
    if (s && s->runner == runner) {
      if (s->status == Status::running && (previous_qemu.empty() || s->qemu != previous_qemu)) return *s;
      if (is_final(s->status)) {
        std::string why = s->message.empty()
                              ? (s->exit_code ? fmt::format("the server exited with code {}", *s->exit_code)
                                              : std::string("the VM stopped"))
                              : s->message;
        fail("{}", failure_with_logs(dir, fmt::format("{} did not become ready: {}", dir.name(), why)));
      }
    }
    if (!is_alive(runner))
      fail("{}", failure_with_logs(dir, fmt::format("the runner of {} died; see {}", dir.name(),
                                                    dir.runner_log().string())));
    if (Clock::now() > deadline)
      fail("{}",
           failure_with_logs(dir, fmt::format("{} was not ready within {} s (still starting; `mcpvm logs "
                                              "{}`)",
                                              dir.name(), timeout.count(), dir.name())));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::chrono::seconds launch_timeout(const RunConfig& c) {
  // The runner enforces the ready timeout itself; this only catches a runner that hangs.
  return c.timeouts.ready + std::chrono::seconds(30);
}

// Reads /proc/PID/cmdline as its NUL-separated arguments.
std::vector<std::string> cmdline_of(pid_t pid) {
  std::vector<std::string> args;
  try {
    std::string raw = read_file(fmt::format("/proc/{}/cmdline", pid), 1 << 20);
    size_t start = 0;
    for (size_t i = 0; i < raw.size(); ++i)
      if (raw[i] == '\0') {
        args.push_back(raw.substr(start, i - start));
        start = i + 1;
      }
  } catch (const Error&) {
  }
  return args;
}

// Only our own binaries count (a runner: `mcpvm __runner DIR`; its QEMU: `-name DIR/`, or a path inside DIR),
// so an unrelated process that merely mentions the path (an editor, `cat state.json`) is never touched.
bool belongs_to_vm(const std::vector<std::string>& args, const std::string& root) {
  if (args.size() < 2) return false;
  std::string exe = std::filesystem::path(args[0]).filename().string();
  if (args[1] == "__runner") return args.size() >= 3 && args[2] == root;
  if (exe.rfind("qemu-system", 0) != 0) return false;
  std::string inside = root + "/";
  for (auto& a : args)
    if (a.find(inside) != std::string::npos) return true;
  return false;
}

void ensure_not_running(const VmDir& dir) {
  if (dir.runner_holds_lock()) fail("{} is already running", dir.name());
}

}  // namespace

std::filesystem::path own_executable() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot locate the mcpvm binary (/proc/self/exe): {}", ec.message());
  return exe;
}

std::string recent_logs(const VmDir& dir, long lines) {
  std::string out;
  std::string server = tail_lines(dir.server_log(), lines);
  if (!server.empty()) out += "[server stderr]\n" + server;
  std::string console = tail_lines(dir.console_log(), lines / 2);
  if (!console.empty())
    out += (out.empty() || out.back() == '\n' ? "" : "\n") + std::string("[console]\n") + console;
  return neutralize_controls(out);  // guest bytes, about to reach a terminal
}

std::vector<ProcessIdentity> find_vm_processes(const VmDir& dir) {
  std::vector<ProcessIdentity> found;
  std::string root = dir.root().string();
  pid_t self = ::getpid();
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(n);
    if (pid == self) continue;
    auto args = cmdline_of(pid);
    if (!belongs_to_vm(args, root)) continue;
    if (auto id = identify(pid)) found.push_back(*id);
  }
  return found;
}

int kill_vm_processes(const VmDir& dir, std::chrono::milliseconds grace) {
  int count = 0;
  // Two passes: a runner killed in the first may leave a QEMU that PDEATHSIG is just taking down.
  for (int pass = 0; pass < 2; ++pass) {
    auto procs = find_vm_processes(dir);
    for (auto& p : procs) terminate_process(p, int(grace.count()));
    count += int(procs.size());
    if (procs.empty()) break;
  }
  return count;
}

LaunchResult launch_vm(RunConfig config) {
  secrets::Delivery delivery = resolve_secrets(config);
  make_private_dirs(VmDir::vms_root());
  std::optional<VmDir> dir;
  if (config.name.empty()) {
    for (int attempt = 0; !dir; ++attempt) {
      config.name = generate_vm_name([](const std::string& n) { return VmDir::for_name(n).exists(); });
      try {
        dir = VmDir::create(config.name);
      } catch (const Error&) {
        if (attempt > 10) throw;  // lost the race for a generated name too often
      }
    }
  } else {
    dir = VmDir::create(config.name);
  }
  VmState s;
  s.name = config.name;
  s.image = config.image;
  s.status = Status::created;
  s.created_at = unix_now();
  s.boot_id = current_boot_id();
  try {
    dir->save_config(config);
    dir->save_state(s);
  } catch (...) {
    dir->remove();
    throw;
  }
  ProcessIdentity runner = spawn_runner(*dir, delivery);
  return {config.name, wait_until_ready(*dir, runner, launch_timeout(config))};
}

LaunchResult start_vm(const std::string& name, bool new_port) {
  VmDir dir = VmDir::for_name(name);
  if (!dir.exists()) fail("no such VM: {}", name);
  ensure_not_running(dir);
  RunConfig config = dir.load_config();
  secrets::Delivery delivery = resolve_secrets(config);
  kill_vm_processes(dir, std::chrono::seconds(2));  // leftovers of a crashed runner
  if (new_port) {  // the runner takes the URL of state.json; without one, the OS picks a free port
    VmState s = dir.load_state();
    s.endpoint.clear();
    dir.save_state(s);
  }
  ProcessIdentity runner = spawn_runner(dir, delivery);
  return {name, wait_until_ready(dir, runner, launch_timeout(config))};
}

LaunchResult restart_vm(const std::string& name, std::chrono::milliseconds stop_timeout) {
  VmDir dir = VmDir::for_name(name);
  if (!dir.exists()) fail("no such VM: {}", name);
  RunConfig config = dir.load_config();
  secrets::Delivery delivery = resolve_secrets(config);  // a missing secret leaves the VM running
  VmState before = dir.load_state();
  if (is_alive(before.runner) && (before.status == Status::running || before.status == Status::starting)) {
    // Inside the runner: its listener and token stay, so no other process can take the URL meanwhile
    // and clients keep their credential. The boot uses the secrets the runner was started with.
    bool rebooting = false;
    try {
      control_call(dir.control_socket(), {{"op", "restart"}, {"timeout_s", stop_timeout.count() / 1000.0}},
                   int(stop_timeout.count()) + 30000);
      rebooting = true;
    } catch (const Error&) {
      // The runner refused (its VM ended meanwhile) or is lost: stop and start it instead, below.
    }
    if (rebooting) return {name, wait_until_ready(dir, before.runner, launch_timeout(config), before.qemu)};
  }
  stop_vm(name, stop_timeout);
  kill_vm_processes(dir, std::chrono::seconds(2));
  ProcessIdentity runner = spawn_runner(dir, delivery);
  return {name, wait_until_ready(dir, runner, launch_timeout(config))};
}

VmState stop_vm(const std::string& name, std::chrono::milliseconds timeout) {
  VmDir dir = VmDir::for_name(name);
  if (!dir.exists()) fail("no such VM: {}", name);
  VmState s = dir.load_state();
  if (is_alive(s.runner)) {
    try {
      control_call(dir.control_socket(), {{"op", "stop"}, {"timeout_s", timeout.count() / 1000.0}},
                   int(timeout.count()) + 30000);
    } catch (const Error&) {
      // The runner is hung or died meanwhile: the forced path below handles both.
    }
    wait_gone(s.runner, 10000);
  }
  kill_vm_processes(dir, std::chrono::seconds(2));
  VmState after = dir.load_state();
  if (is_active(after.status) || after.status == Status::unhealthy || after.status == Status::created) {
    after.status = Status::stopped;
    after.qemu = {};
    after.finished_at = unix_now();
    if (after.message.empty()) after.message = "stopped after the runner was lost";
    dir.save_state(after);
  }
  return after;
}

void remove_vm(const std::string& name, bool force) {
  VmDir dir = VmDir::for_name(name);
  if (!dir.exists()) fail("no such VM: {}", name);
  if (!force) {
    VmListing l = describe_vm(name);
    bool busy = is_active(l.status.status) || l.status.status == Status::unhealthy || dir.runner_holds_lock();
    if (busy)
      fail("{} is {}: stop it first, or use `mcpvm rm -f {}`", name, to_string(l.status.status), name);
  }
  // Ask a live runner to let go quickly, then make sure nothing of the VM is left.
  try {
    VmState s = dir.load_state();
    if (is_alive(s.runner)) control_call(dir.control_socket(), {{"op", "stop"}, {"timeout_s", 0.5}}, 15000);
  } catch (const Error&) {
  }
  kill_vm_processes(dir, std::chrono::milliseconds(1000));
  if (dir.runner_holds_lock())
    fail("{}: a process still holds {}; not removing", name, dir.runner_lock().string());
  dir.remove();
}

VmListing describe_vm(const std::string& name) {
  VmListing l;
  l.name = name;
  VmDir dir = VmDir::for_name(name);
  try {
    l.state = dir.load_state();
    l.status = reconcile(*l.state, observe(*l.state));
  } catch (const Error& e) {
    bool alive = dir.runner_holds_lock() || !find_vm_processes(dir).empty();
    l.status = {alive ? Status::unhealthy : Status::error, e.what()};
  }
  return l;
}

std::vector<VmListing> list_vms() {
  std::vector<VmListing> out;
  for (auto& n : VmDir::list_names()) out.push_back(describe_vm(n));
  return out;
}

}  // namespace mcpvm::runner
