#include "guest/init/server.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "guest/env.h"
#include "guest/init/exec.h"
#include "guest/protocol.h"
#include "guest/secrets_message.h"

namespace mcpvm::guest {

namespace {

std::string read_image_file(const std::string& path) {
  try {
    return read_whole_file(path);
  } catch (const SetupError&) {
    return {};  // an image without /etc/passwd: only numeric users work
  }
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

std::string find_executable(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  const std::string* path_var = find_env(env, "PATH");
  std::string path = path_var ? path_var->substr(5) : kDefaultPath;
  size_t start = 0;
  for (;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  throw SetupError("exec: \"" + name + "\": executable file not found in $PATH", 127);
}

// The capabilities docker leaves a container by default; every other one leaves the bounding set.
constexpr int kKeptCaps[] = {0 /*CHOWN*/,
                             1 /*DAC_OVERRIDE*/,
                             3 /*FOWNER*/,
                             4 /*FSETID*/,
                             5 /*KILL*/,
                             6 /*SETGID*/,
                             7 /*SETUID*/,
                             8 /*SETPCAP*/,
                             10 /*NET_BIND_SERVICE*/,
                             13 /*NET_RAW*/,
                             18 /*SYS_CHROOT*/,
                             27 /*MKNOD*/,
                             29 /*AUDIT_WRITE*/,
                             31 /*SETFCAP*/};

int last_cap() {
  try {
    return std::stoi(read_whole_file("/proc/sys/kernel/cap_last_cap"));
  } catch (...) {
    return 40;
  }
}

// In the forked child: everything here must not allocate after fork beyond what is prepared.
[[noreturn]] void exec_child(const LaunchPlan& plan, char* const* argv, char* const* envp, int in_fd,
                             int out_fd, int err_fd, bool controlling_tty, int report_fd, int max_cap) {
  auto die = [&](int stage) {
    int payload[2] = {stage, errno};
    [[maybe_unused]] auto n = ::write(report_fd, payload, sizeof payload);
    _exit(127);
  };
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) ::signal(s, SIG_DFL);
  ::setsid();
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) die(1);
  if (controlling_tty && ::ioctl(0, TIOCSCTTY, 0) != 0) die(1);
  if (::chdir(plan.workdir.c_str()) != 0) die(2);
  for (int cap = 0; cap <= max_cap; ++cap) {
    if (std::find(std::begin(kKeptCaps), std::end(kKeptCaps), cap) == std::end(kKeptCaps))
      ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  if (::setgroups(plan.user.groups.size(), plan.user.groups.data()) != 0) die(3);
  if (::setgid(plan.user.gid) != 0) die(3);
  if (::setuid(plan.user.uid) != 0) die(3);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(4);
  ::execve(plan.executable.c_str(), argv, envp);
  die(5);
  _exit(127);
}

}  // namespace

pid_t spawn_process(const LaunchPlan& plan, int in_fd, int out_fd, int err_fd, bool controlling_tty) {
  std::vector<char*> argv, envp;
  for (auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int max_cap = last_cap();
  Pipe report = make_pipe();
  pid_t pid = ::fork();
  if (pid < 0) fail_sys("fork");
  if (pid == 0)
    exec_child(plan, argv.data(), envp.data(), in_fd, out_fd, err_fd, controlling_tty, report.write.get(),
               max_cap);
  report.write.reset();
  int payload[2];
  ssize_t n;
  do n = ::read(report.read.get(), payload, sizeof payload);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return pid;  // exec succeeded: the CLOEXEC pipe closed without a word
  ::waitpid(pid, nullptr, 0);
  std::string what;
  switch (payload[0]) {
    case 1:
      what = "setting up stdio";
      break;
    case 2:
      what = "chdir " + plan.workdir;
      break;
    case 3:
      what = "switching to user " + std::to_string(plan.user.uid);
      break;
    case 4:
      what = "setting no_new_privs";
      break;
    default:
      what = "exec " + plan.executable;
      break;
  }
  throw SetupError(what + ": " + std::strerror(payload[1]),
                   payload[0] == 5 && payload[1] == ENOENT ? 127 : 126);
}

namespace {

// A one-way byte relay from a non-blocking source to a non-blocking sink with a bounded buffer.
struct Relay {
  int from = -1;
  int to = -1;
  std::string buffer;
  bool eof = false;
  bool broken = false;
  uint64_t written = 0;
  static constexpr size_t kLimit = 256 * 1024;

  bool want_read() const { return from >= 0 && !eof && buffer.size() < kLimit; }
  bool want_write() const { return to >= 0 && !buffer.empty() && !broken; }
  bool done() const { return eof && (buffer.empty() || broken); }

  void on_readable() {
    char chunk[65536];
    ssize_t n = ::read(from, chunk, sizeof chunk);
    if (n > 0)
      buffer.append(chunk, size_t(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      eof = true;
  }
  void on_writable() {
    ssize_t n = ::write(to, buffer.data(), buffer.size());
    if (n > 0) {
      buffer.erase(0, size_t(n));
      written += uint64_t(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      broken = true;
      buffer.clear();
    }
  }
};

ServerResult status_to_result(int status) {
  ServerResult r;
  if (WIFEXITED(status))
    r.code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.signal = WTERMSIG(status), r.code = 128 + r.signal;
  return r;
}

void handle_ctl_frame(const Frame& f, pid_t server, bool server_running, ExecServer& exec) {
  if (f.stream != 0 || f.type >= MsgType::ExecStart) return exec.on_frame(f);
  if (f.type != MsgType::Signal || !server_running) return;
  try {
    int sig = nlohmann::json::parse(f.payload).at("signal").get<int>();
    if (sig > 0 && sig < 65) ::kill(server, sig);
  } catch (const std::exception& e) {
    console(std::string("ignoring a bad signal message: ") + e.what());
  }
}

}  // namespace

LaunchPlan plan_launch(const GuestConfig& config, const std::string& hostname,
                       const LaunchOverrides& overrides) {
  const std::vector<std::string>& argv = overrides.argv.empty() ? config.argv : overrides.argv;
  if (argv.empty() || argv[0].empty())
    throw SetupError("no command: the image has no Entrypoint or Cmd and none was given");
  LaunchPlan plan;
  auto passwd = parse_passwd(read_image_file("/etc/passwd"));
  auto groups = parse_group(read_image_file("/etc/group"));
  try {
    plan.user = resolve_user(overrides.user.empty() ? config.user : overrides.user, passwd, groups);
  } catch (const UserError& e) {
    throw SetupError(e.what());
  }
  auto layers = config.env_layers;
  if (!overrides.env.empty()) layers.push_back(overrides.env);
  plan.env = merge_env(layers);
  if (!overrides.env.empty()) wipe_strings(layers.back());  // may be secrets: no stray copy stays behind
  set_default_env(plan.env, "PATH", kDefaultPath);
  set_default_env(plan.env, "HOSTNAME", hostname);
  set_default_env(plan.env, "HOME", plan.user.home);
  plan.workdir = !overrides.workdir.empty() ? overrides.workdir
                 : config.workdir.empty()   ? "/"
                                            : config.workdir;
  struct stat st;
  if (::stat(plan.workdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw SetupError("working directory " + plan.workdir + " does not exist in the image");
  if (::chdir(plan.workdir.c_str()) != 0) fail_sys("chdir " + plan.workdir);
  plan.argv = argv;
  plan.executable = find_executable(argv[0], plan.env);
  if (::chdir("/") != 0) fail_sys("chdir /");
  return plan;
}

void send_ctl(Ports& ports, int type, const std::string& json_payload) {
  if (!write_fully(ports.ctl.get(), encode_frame(MsgType(type), json_payload)))
    console("cannot write to the ctl port");
}

ServerResult run_server(LaunchPlan& plan, Ports& ports, int sigfd,
                        [[maybe_unused]] const GuestConfig& config) {
  Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
  pid_t server = spawn_process(plan, in.read.get(), out.write.get(), err.write.get());
  wipe_strings(plan.env);  // the server has its environment; the init keeps no copy of its secrets
  in.read.reset();
  out.write.reset();
  err.write.reset();
  for (int fd : {in.write.get(), out.read.get(), err.read.get()}) set_nonblocking(fd);
  send_ctl(ports, int(MsgType::Ready), "{}");
  console_phase("server started");

  Relay to_stdin{ports.stdin_.get(), in.write.get()};
  Relay to_stdout{out.read.get(), ports.stdout_.get()};
  Relay to_stderr{err.read.get(), ports.stderr_.get()};
  FrameDecoder ctl;
  ExecServer exec(config, ports);
  std::optional<int> server_status;
  using Clock = std::chrono::steady_clock;
  Clock::time_point kill_leftovers_at{};
  bool leftovers_killed = false;
  bool ctl_closed = false;

  while (!(server_status && to_stdout.done() && to_stderr.done())) {
    // stdin: once its source hit EOF and the buffer is written, close the server's end (EOF for it).
    if (to_stdin.done() && in.write) {
      in.write.reset();
      to_stdin.to = -1;
    }
    std::vector<pollfd> fds;
    auto add = [&](int fd, short events) { fds.push_back({fd, events, 0}); };
    add(sigfd, POLLIN);
    add(ctl_closed ? -1 : ports.ctl.get(), POLLIN);
    add(to_stdin.want_read() ? to_stdin.from : -1, POLLIN);
    add(to_stdin.want_write() ? to_stdin.to : -1, POLLOUT);
    add(to_stdout.want_read() ? to_stdout.from : -1, POLLIN);
    add(to_stdout.want_write() ? to_stdout.to : -1, POLLOUT);
    add(to_stderr.want_read() ? to_stderr.from : -1, POLLIN);
    add(to_stderr.want_write() ? to_stderr.to : -1, POLLOUT);
    exec.add_poll_fds(fds);
    int timeout = exec.timeout_ms();
    if (server_status && !leftovers_killed) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(kill_leftovers_at - Clock::now()).count();
      timeout = timeout < 0 ? int(std::max<long>(0, left)) : std::min(timeout, int(std::max<long>(0, left)));
    }
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) fail_sys("poll");
    if (server_status && !leftovers_killed && Clock::now() >= kill_leftovers_at) {
      // Processes the server left behind still hold its stdout/stderr: end them so the output ends.
      ::kill(-1, SIGKILL);
      leftovers_killed = true;
    }
    exec.finish_due();
    if (n <= 0) continue;
    constexpr short kReady = POLLIN | POLLOUT | POLLHUP | POLLERR;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo != SIGCHLD && !server_status) ::kill(server, int(si.ssi_signo));
      }
      int status;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == server) {
          server_status = status;
          // As docker does when a container's main process exits: whatever it left running is ended
          // now. Their output already in the pipes is still drained, so nothing written is lost.
          kill_leftovers_at = Clock::now();
        } else {
          exec.on_child_exit(pid, status);  // an exec session's process reports its own exit
        }
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      ssize_t r = ::read(ports.ctl.get(), buf, sizeof buf);
      if (r == 0) ctl_closed = true;
      if (r > 0) {
        ctl.feed({buf, size_t(r)});
        while (auto f = ctl.next()) handle_ctl_frame(*f, server, !server_status, exec);
      }
    }
    if (fds[2].revents & kReady) to_stdin.on_readable();
    if (fds[3].revents & kReady) to_stdin.on_writable();
    if (fds[4].revents & kReady) to_stdout.on_readable();
    if (fds[5].revents & kReady) {
      bool first = to_stdout.written == 0;
      to_stdout.on_writable();
      if (first && to_stdout.written > 0) console_phase("first output relayed");
    }
    if (fds[6].revents & kReady) to_stderr.on_readable();
    if (fds[7].revents & kReady) to_stderr.on_writable();
    if (to_stdin.broken) to_stdin.eof = true;  // the server closed its stdin: drop what the host sends
    exec.on_poll(fds);
  }
  ServerResult r = status_to_result(*server_status);
  r.stdout_bytes = to_stdout.written;
  r.stderr_bytes = to_stderr.written;
  return r;
}

void wait_for_shutdown(Ports& ports, int timeout_ms) {
  FrameDecoder decoder;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return console("no shutdown confirmation from the host; powering off");
    pollfd p{ports.ctl.get(), POLLIN, 0};
    if (::poll(&p, 1, int(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t r = ::read(ports.ctl.get(), buf, sizeof buf);
    if (r == 0) return;  // the host went away
    if (r < 0) continue;
    decoder.feed({buf, size_t(r)});
    while (auto f = decoder.next())
      if (f->type == MsgType::Shutdown) return;
  }
}

}  // namespace mcpvm::guest
