// `mcpvm exec [-i] [-t] [-e K=V]... [-w DIR] [-u USER] NAME -- CMD...`: runs CMD in the running VM's guest
// through the runner's control socket (no daemon in the guest, no key anywhere; see docs/runner.md
// "exec"). Exits with the command's status (128+N when a signal ended it).
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <poll.h>

#include <iostream>
#include <optional>

#include "cli/command.h"
#include "runner/control.h"
#include "runner/lifecycle.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/signal_fd.h"

namespace mcpvm::cli {
namespace {

using nlohmann::json;

struct ExecOptions {
  bool interactive = false;
  bool tty = false;
  std::vector<std::string> env;
  bool secret_env = false;  // the VM's --secret values too (the runner resolves them again)
  std::string workdir;
  std::string user;
  std::string name;
  std::vector<std::string> command;
};

// Puts a terminal in raw mode (keys, Ctrl-C included, go to the guest's pty) and restores it on every
// way out of the command: return, exception, or a signal we turned into a return.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd_, TCSADRAIN, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// An ignored signal is discarded, never pending: a shell starts background jobs with SIGINT and SIGQUIT
// ignored, and `kill -INT` of such an exec must still reach the guest, so those get their default action
// back (blocked by the SignalFd, it never runs). SIGHUP stays ignored under nohup.
bool unignore(int signal) {
  struct sigaction old {};
  ::sigaction(signal, nullptr, &old);
  if (old.sa_handler != SIG_IGN) return true;
  if (signal == SIGHUP) return false;
  ::signal(signal, SIG_DFL);
  return true;
}

// The signals exec handles itself (forwarded to the guest, or a resize).
SignalFd exec_signals() {
  for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGWINCH}) unignore(s);
  if (!unignore(SIGHUP)) return SignalFd{SIGINT, SIGTERM, SIGQUIT, SIGWINCH};
  return SignalFd{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
}

std::pair<int, int> window_size() {
  winsize ws{};
  for (int fd : {0, 1, 2})
    if (::isatty(fd) && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
      return {ws.ws_row, ws.ws_col};
  return {24, 80};
}

void check_running(const std::string& name) {
  if (!runner::VmDir::for_name(name).exists()) fail("no such VM: {}", name);
  runner::VmListing vm = runner::describe_vm(name);  // fails with "no such VM" for a missing one
  if (vm.status.status != runner::Status::running)
    fail("VM {} is not running (status: {}){}", name, runner::to_string(vm.status.status),
         vm.status.status == runner::Status::stopped || vm.status.status == runner::Status::exited
             ? fmt::format("; start it with `mcpvm start {}`", name)
             : "");
}

// The session with the runner. Socket writes never block (the runner may be busy sending us output
// while we send it stdin); stdin is read only when the previous chunk went out.
class ExecClient {
 public:
  ExecClient(runner::ControlChannel channel, const ExecOptions& o)
      : channel_(std::move(channel)), o_(o), signals_(exec_signals()) {
    stdin_open_ = o.interactive;
  }

  int run() {
    for (;;) {
      pollfd fds[3] = {{channel_.fd(), short(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0},
                       {stdin_open_ && out_.empty() ? 0 : -1, POLLIN, 0},
                       {signals_.fd(), POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        fail_errno("poll");
      }
      if (fds[2].revents) on_signal(signals_.take());
      if (fds[1].revents) read_stdin();
      if (fds[0].revents & POLLOUT) flush();
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
        if (auto code = read_runner()) return *code;
    }
  }

 private:
  void queue(const json& message) {
    out_ += message.dump();
    out_ += '\n';
    flush();
  }

  void flush() {
    while (!out_.empty()) {
      ssize_t n = ::send(channel_.fd(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        out_.erase(0, size_t(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        return;
      } else {
        out_.clear();  // the runner went away: read_runner reports it
        stdin_open_ = false;
        return;
      }
    }
  }

  void read_stdin() {
    char buf[65536];
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n > 0) {
      queue({{"stdin", runner::base64_encode({buf, size_t(n)})}});
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      stdin_open_ = false;
      queue({{"eof", true}});
    }
  }

  void on_signal(int sig) {
    if (sig == SIGWINCH) {
      if (o_.tty) {
        auto [rows, cols] = window_size();
        queue({{"resize", {rows, cols}}});
      }
      return;
    }
    if (sig) queue({{"signal", sig}});  // with a tty, Ctrl-C arrives as a byte instead (raw mode)
  }

  // The command's exit status once it ended.
  std::optional<int> read_runner() {
    bool closed = false;
    for (const json& m : channel_.receive_available(closed)) {
      if (auto it = m.find("stdout"); it != m.end() && it->is_string()) {
        if (!write_out(1, runner::base64_decode(it->get<std::string>()))) return 128 + SIGPIPE;
      } else if (auto e = m.find("stderr"); e != m.end() && e->is_string()) {
        write_out(2, runner::base64_decode(e->get<std::string>()));
      } else if (auto x = m.find("exit"); x != m.end() && x->is_number_integer()) {
        if (auto err = m.find("error"); err != m.end() && err->is_string())
          std::cerr << "mcpvm: " << err->get<std::string>() << (o_.tty ? "\r\n" : "\n") << std::flush;
        return x->get<int>();
      } else if (auto err = m.find("error"); err != m.end() && err->is_string()) {
        fail("{}", err->get<std::string>());
      }
    }
    if (closed) fail("the runner of VM {} closed the connection before the command ended", o_.name);
    return std::nullopt;
  }

  // False when stdout is gone (the reader of a pipe exited).
  bool write_out(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n > 0) {
        data.remove_prefix(size_t(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
      } else {
        return false;
      }
    }
    return true;
  }

  runner::ControlChannel channel_;
  const ExecOptions& o_;
  SignalFd signals_;
  std::string out_;
  bool stdin_open_ = false;
};

int run_exec(const ExecOptions& o) {
  if (o.command.empty()) fail("exec: no command given (mcpvm exec NAME -- CMD...)");
  for (const auto& e : o.env)
    if (e.empty() || e[0] == '=' || e.find('=') == std::string::npos) fail("-e {}: expected KEY=VALUE", e);
  check_running(o.name);
  runner::VmDir dir = runner::VmDir::for_name(o.name);
  auto [rows, cols] = window_size();
  json request{{"op", "exec"},         {"argv", o.command},
               {"tty", o.tty},         {"interactive", o.interactive},
               {"rows", rows},         {"cols", cols},
               {"env", o.env},         {"user", o.user},
               {"workdir", o.workdir}, {"secret_env", o.secret_env}};
  runner::ControlChannel channel = runner::connect_control(dir.control_socket());
  channel.send(request);
  auto reply = channel.receive(30000);
  if (!reply) fail("the runner of VM {} did not answer the exec request within 30 s", o.name);
  if (!reply->value("ok", false))
    fail("{}", reply->value("error", std::string("the runner refused the exec request")));
  ::signal(SIGPIPE, SIG_IGN);
  std::optional<RawTerminal> raw;
  if (o.tty && ::isatty(0)) raw.emplace(0);
  return ExecClient(std::move(channel), o).run();
}

const Command kExec{
    "exec", "Run a command in a running VM", 47, [](CLI::App& app) {
      auto o = std::make_shared<ExecOptions>();
      app.add_flag("-i,--interactive", o->interactive, "Forward stdin (EOF ends the command's stdin)");
      app.add_flag("-t,--tty", o->tty, "Give the command a pseudo-terminal");
      app.add_option("-e,--env", o->env, "Set an environment variable (KEY=VALUE), repeatable");
      app.add_flag("--secret-env", o->secret_env,
                   "Give the command the VM's secrets (run --secret) in its environment too");
      app.add_option("-w,--workdir", o->workdir, "Working directory in the guest (default: the image's)");
      app.add_option("-u,--user", o->user, "User as name|uid[:group|gid] (default: the image's)");
      app.add_option("name", o->name, "VM name")->required();
      app.add_option("command", o->command, "Command and arguments (after --)")->required();
      app.footer("Examples:\n  mcpvm exec fetch -- ls -l /\n  mcpvm exec -it fetch -- sh");
      return [o] { return run_exec(*o); };
    }};

}  // namespace
}  // namespace mcpvm::cli
