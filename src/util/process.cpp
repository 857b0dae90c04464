#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "util/backoff.h"
#include "util/error.h"
#include "util/fd.h"

namespace mcpvm {

bool ExitStatus::exited() const {
  return WIFEXITED(raw);
}
bool ExitStatus::signaled() const {
  return WIFSIGNALED(raw);
}
int ExitStatus::code() const {
  return WEXITSTATUS(raw);
}
int ExitStatus::signal() const {
  return WTERMSIG(raw);
}
int ExitStatus::shell_code() const {
  return exited() ? code() : 128 + signal();
}
std::string ExitStatus::describe() const {
  if (exited()) return fmt::format("exit code {}", code());
  if (signaled()) return fmt::format("killed by signal {} ({})", signal(), strsignal(signal()));
  return fmt::format("status {}", raw);
}

namespace {

[[noreturn]] void child_fail(const char* what, const char* arg) {
  // Only async-signal-safe calls here.
  int saved = errno;
  const char* msg = strerror(saved);
  const char* parts[] = {"mcpvm: ", what, " ", arg, ": ", msg, "\n"};
  for (const char* p : parts) [[maybe_unused]] auto n = ::write(2, p, strlen(p));
  _exit(127);
}

void open_null_as(int target) {
  int fd = ::open("/dev/null", O_RDWR);
  if (fd < 0) child_fail("open", "/dev/null");
  if (fd != target) {
    ::dup2(fd, target);
    ::close(fd);
  }
}

}  // namespace

Subprocess Subprocess::spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
  if (argv.empty()) fail("spawn: empty command");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  if (o.env) {
    for (auto& e : *o.env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
  }
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) fail_errno("starting {}", argv[0]);
  if (pid == 0) {
    if (o.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) _exit(127);  // parent died before prctl took effect
    }
    if (o.new_session)
      ::setsid();
    else if (o.new_process_group)
      ::setpgid(0, 0);
    // Signal dispositions and mask are inherited across exec: reset what we may have changed.
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP}) ::signal(s, SIG_DFL);
    // Move sources out of the way first so a mapping never clobbers another mapping's source.
    std::vector<std::pair<int, int>> moved;
    for (auto [src, dst] : o.fds) {
      int tmp = ::fcntl(src, F_DUPFD_CLOEXEC, 256);
      if (tmp < 0) child_fail("dup", "fd");
      moved.emplace_back(tmp, dst);
    }
    bool mapped[3] = {false, false, false};
    for (auto [tmp, dst] : moved) {
      if (::dup2(tmp, dst) < 0) child_fail("dup2", "fd");
      if (dst < 3) mapped[dst] = true;
    }
    if (o.stdin_null && !mapped[0]) open_null_as(0);
    if (o.stdout_null && !mapped[1]) open_null_as(1);
    if (o.stderr_null && !mapped[2]) open_null_as(2);
    // Close everything that is not a mapped target or stdio.
    int maxfd = 3;
    for (auto [tmp, dst] : moved) maxfd = std::max(maxfd, dst + 1);
    for (int fd = 3; fd < maxfd; ++fd) {
      bool keep = false;
      for (auto [tmp, dst] : moved) keep |= (dst == fd);
      if (!keep) ::close(fd);
    }
    ::close_range(unsigned(maxfd), ~0U, 0);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) child_fail("chdir", o.cwd.c_str());
    if (o.env)
      ::execvpe(cargv[0], cargv.data(), cenv.data());
    else
      ::execvp(cargv[0], cargv.data());
    child_fail("exec", cargv[0]);
  }
  Subprocess p;
  p.pid_ = pid;
  p.own_group_ = o.new_session || o.new_process_group;
  if (p.own_group_) ::setpgid(pid, pid);  // also from the parent: no race with an early kill()
  return p;
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), own_group_(other.own_group_), status_(other.status_) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    this->~Subprocess();
    pid_ = std::exchange(other.pid_, -1);
    own_group_ = other.own_group_;
    status_ = other.status_;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (running()) {
    kill(SIGKILL);
    wait();
  }
}

ExitStatus Subprocess::wait() {
  if (status_) return *status_;
  if (pid_ <= 0) fail("wait: no process");
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0) {
    if (errno != EINTR) fail_errno("waiting for process {}", pid_);
  }
  status_ = ExitStatus{st};
  return *status_;
}

std::optional<ExitStatus> Subprocess::poll() {
  if (status_) return status_;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r < 0 && errno != EINTR) fail_errno("waiting for process {}", pid_);
  if (r == pid_) status_ = ExitStatus{st};
  return status_;
}

std::optional<ExitStatus> Subprocess::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  retry_with_backoff([&] { return poll().has_value(); }, deadline,
                     Backoff(std::chrono::milliseconds(1), std::chrono::milliseconds(50)));
  return status_;
}

void Subprocess::kill(int sig) {
  if (!running()) return;
  if (own_group_ && ::kill(-pid_, sig) == 0) return;
  ::kill(pid_, sig);
}

ExitStatus Subprocess::terminate(std::chrono::milliseconds grace) {
  if (auto s = poll()) return *s;
  kill(SIGTERM);
  if (auto s = wait_for(grace)) {
    if (own_group_) ::kill(-pid_, SIGKILL);  // stragglers in the group
    return *s;
  }
  kill(SIGKILL);
  return wait();
}

pid_t Subprocess::release() {
  status_ = ExitStatus{};
  return std::exchange(pid_, -1);
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const SpawnOptions& options, const std::string& stdin_data) {
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC) || ::pipe2(in_pipe, O_CLOEXEC))
    fail_errno("running {}: pipe", argv.empty() ? "" : argv[0]);
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]), in_r(in_pipe[0]),
      in_w(in_pipe[1]);
  SpawnOptions o = options;
  o.fds.insert(o.fds.end(), {{in_r.get(), 0}, {out_w.get(), 1}, {err_w.get(), 2}});
  Subprocess p = Subprocess::spawn(argv, o);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  std::string_view pending = stdin_data;
  if (pending.empty()) in_w.reset();

  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_r || err_r) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      p.kill(SIGKILL);
      p.wait();
      fail("{} did not finish within {} s", join_argv(argv), timeout.count() / 1000.0);
    }
    pollfd fds[3] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}, {in_w.get(), POLLOUT, 0}};
    int n = ::poll(fds, 3, int(std::min<long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) fail_errno("running {}: poll", argv[0]);
    char buf[65536];
    UniqueFd* readers[2] = {&out_r, &err_r};
    std::string* sinks[2] = {&result.out, &result.err};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0)
        sinks[i]->append(buf, size_t(r));
      else if (r == 0 || errno != EINTR)
        readers[i]->reset();
    }
    if (in_w && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in_w.get(), pending.data(), pending.size());
      if (w > 0) pending.remove_prefix(size_t(w));
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || pending.empty()) in_w.reset();
    }
  }
  result.status = p.wait();
  return result;
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

}  // namespace mcpvm
