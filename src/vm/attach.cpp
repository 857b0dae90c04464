#include "vm/attach.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"
#include "util/json_depth.h"
#include "util/log.h"
#include "util/signal_fd.h"

namespace mcpvm::vm {

namespace {

using Clock = std::chrono::steady_clock;
using guest::MsgType;

// Bytes from a VM socket to a host fd (blocking write: the host fd may be a terminal we must not alter).
struct Outflow {
  int from;
  int to;
  uint64_t received = 0;
  bool eof = false;
  bool to_broken = false;

  void pump() {
    char buf[65536];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n > 0) {
      received += uint64_t(n);
      if (!to_broken) {
        try {
          write_all(to, {buf, size_t(n)});
        } catch (const Error&) {
          to_broken = true;  // e.g. the reader of our stdout went away: keep draining, drop the bytes
        }
      }
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      eof = true;
    }
  }
};

class Session {
 public:
  Session(Vm& vm, const AttachOptions& o)
      : vm_(vm), o_(o), signals_(o.handle_signals ? SignalFd{SIGINT, SIGTERM, SIGHUP} : SignalFd{}) {
    pidfd_.reset(int(::syscall(SYS_pidfd_open, vm.qemu_pid(), 0)));
    boot_deadline_ = Clock::now() + o.boot_timeout;
  }

  int run() {
    for (;;) {
      if (auto done = step()) return *done;
    }
  }

 private:
  std::optional<int> step() {
    std::vector<pollfd> fds = {
        {pidfd_.get(), POLLIN, 0},
        {vm_.ctl_fd(), POLLIN, 0},
        {out_.eof ? -1 : out_.from, POLLIN, 0},
        {err_.eof ? -1 : err_.from, POLLIN, 0},
        {stdin_open_ && ready_ && pending_stdin_.empty() ? o_.in : -1, POLLIN, 0},
        {signals_.fd(), POLLIN, 0},
        {stdin_open_ && !pending_stdin_.empty() ? vm_.stdin_fd() : -1, POLLOUT, 0},
        {o_.exec && ctl_out_.empty() ? o_.exec->wake_fd() : -1, POLLIN, 0},  // stays raised until taken
        {ctl_out_.empty() ? -1 : vm_.ctl_fd(), POLLOUT, 0},
        {stop_requested_ ? -1 : o_.stop_fd, POLLIN, 0},  // level-triggered and never drained: once
    };
    int n = ::poll(fds.data(), fds.size(), int(std::clamp<long>(ms_until_next_deadline(), 0, 1000)));
    if (n < 0 && errno != EINTR) fail_errno("poll");
    if (fds[2].revents) out_.pump();
    if (fds[3].revents) err_.pump();
    if (fds[1].revents) read_ctl();
    if (fds[4].revents) read_stdin();
    if (fds[6].revents) write_stdin();
    if (fds[5].revents) on_signal(signals_.take());
    if (fds[7].revents || fds[8].revents) write_ctl();
    if (fds[9].revents) on_stop_request();
    if (result_ && output_complete()) return finish(*result_);
    if (fds[0].revents || vm_.qemu().poll()) return on_qemu_exit();
    check_deadlines();
    return std::nullopt;
  }

  long ms_until_next_deadline() const {
    auto now = Clock::now();
    Clock::time_point next = now + std::chrono::seconds(1);
    if (!ready_) next = std::min(next, boot_deadline_);
    if (kill_at_) next = std::min(next, *kill_at_);
    return std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
  }

  void read_ctl() {
    char buf[65536];  // exec sessions' output arrives here too
    ssize_t n = ::read(vm_.ctl_fd(), buf, sizeof buf);
    if (n <= 0) return;
    decoder_.feed({buf, size_t(n)});
    try {
      while (auto f = decoder_.next()) on_frame(*f);
    } catch (const std::exception& e) {
      vm_.kill();
      fail("the guest sent a bad control message ({}); console log: {}", e.what(),
           vm_.console_log().string());
    }
  }

  void on_frame(const guest::Frame& f) {
    if (f.stream != 0) {  // an exec session's frame: the mux validates it (and survives a hostile guest)
      if (o_.exec) o_.exec->on_guest_frame(f);
      return;
    }
    bool too_deep = false;
    auto body = parse_untrusted_json(f.payload.empty() ? "{}" : f.payload, &too_deep);
    if (too_deep) fail("{}", too_deep_reason());
    if (body.is_discarded() || !body.is_object()) fail("not a JSON object");
    switch (f.type) {
      case MsgType::Ready:
        ready_ = true;
        log::debug("guest: server started");
        break;
      case MsgType::Error: {
        std::string msg = body.value("message", std::string("unknown error"));
        std::string line = fmt::format("mcpvm: {}\n", msg);
        [[maybe_unused]] auto w = ::write(o_.err, line.data(), line.size());
        result_ = body.value("code", 126);
        ready_ = true;
        expect_out_ = expect_err_ = 0;
        break;
      }
      case MsgType::Exit:
        result_ = body.value("code", 0);
        expect_out_ = body.value("stdout_bytes", uint64_t(0));
        expect_err_ = body.value("stderr_bytes", uint64_t(0));
        log::debug("guest: server exited ({}), {} stdout / {} stderr bytes sent, {} / {} received so far",
                   *result_, expect_out_, expect_err_, out_.received, err_.received);
        drain_deadline_ = Clock::now() + std::chrono::seconds(10);
        break;
      default:
        break;
    }
  }

  bool output_complete() const {
    bool out_ok = out_.received >= expect_out_ || out_.eof;
    bool err_ok = err_.received >= expect_err_ || err_.eof;
    return (out_ok && err_ok) || (drain_deadline_ && Clock::now() > *drain_deadline_);
  }

  // Host stdin is read only when the previous chunk has been handed to the VM, so a server that does
  // not read its stdin never blocks this loop (control messages and output keep flowing).
  void read_stdin() {
    char buf[65536];
    ssize_t n = ::read(o_.in, buf, sizeof buf);
    if (n > 0)
      pending_stdin_.assign(buf, size_t(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      close_stdin();
  }

  void write_stdin() {
    ssize_t n = ::write(vm_.stdin_fd(), pending_stdin_.data(), pending_stdin_.size());
    if (n > 0)
      pending_stdin_.erase(0, size_t(n));
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
      close_stdin();
  }

  void close_stdin() {
    stdin_open_ = false;
    pending_stdin_.clear();
    vm_.close_stdin();  // QEMU reads the rest, then the end: the guest's port reads EOF
  }

  void on_signal(int sig) {
    if (sig == 0) return;
    if (signals_seen_++ > 0 || !ready_) {
      // A second Ctrl-C, or one before the server runs: power off now.
      log::warn("stopping the VM");
      return power_off();
    }
    log::info("forwarding SIGTERM to the server; the VM is powered off in {} s",
              o_.stop_timeout.count() / 1000.0);
    forward_sigterm();
  }

  // As a first signal, but said as what it is; a signal after it powers off now.
  void on_stop_request() {
    stop_requested_ = true;
    if (signals_seen_++ > 0) return;  // a signal started the stop already
    if (!ready_) {
      log::warn("stop requested before the server started: stopping the VM");
      return power_off();
    }
    log::info("stop requested: forwarding SIGTERM to the server");
    forward_sigterm();
  }

  void power_off() {
    vm_.kill();
    killed_ = true;
  }

  // The graceful path: SIGTERM to the server through the init, power-off at the stop timeout.
  void forward_sigterm() {
    ctl_out_ += guest::encode_frame(MsgType::Signal, nlohmann::json{{"signal", SIGTERM}}.dump());
    write_ctl();
    kill_at_ = Clock::now() + o_.stop_timeout;
  }

  void check_deadlines() {
    auto now = Clock::now();
    if (kill_at_ && now >= *kill_at_ && !killed_) {
      log::warn("the server did not stop within {} s: powering off the VM", o_.stop_timeout.count() / 1000.0);
      power_off();
    }
    if (!ready_ && now >= boot_deadline_ && !killed_) {
      vm_.kill();
      vm_.qemu().wait();
      fail("the guest did not start the server within {} s (killed); console log: {}",
           std::chrono::duration_cast<std::chrono::seconds>(o_.boot_timeout).count(),
           vm_.console_log().string());
    }
  }

  // Writes what is queued for the ctl port without blocking; frames of exec sessions join the queue
  // here, so a frame is never interleaved with another.
  void write_ctl() {
    if (ctl_out_.empty() && o_.exec) ctl_out_ = o_.exec->take_outgoing();
    while (!ctl_out_.empty()) {
      ssize_t n = ::write(vm_.ctl_fd(), ctl_out_.data(), ctl_out_.size());
      if (n > 0) {
        ctl_out_.erase(0, size_t(n));
        if (ctl_out_.empty() && o_.exec) ctl_out_ = o_.exec->take_outgoing();
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return;  // EAGAIN: POLLOUT brings us back; an error shows as QEMU's exit
      }
    }
  }

  int finish(int code) {
    // Whatever is queued goes first (bounded: the guest reads ctl until it powers off).
    for (int i = 0; i < 100 && !ctl_out_.empty(); ++i) {
      write_ctl();
      if (!ctl_out_.empty()) {
        pollfd p{vm_.ctl_fd(), POLLOUT, 0};
        ::poll(&p, 1, 10);
      }
    }
    try {
      vm_.send(MsgType::Shutdown);
    } catch (const Error&) {
    }
    if (!vm_.wait_for(std::chrono::seconds(10))) {
      log::warn("the guest did not power off: killing the VM");
      vm_.kill();
      vm_.qemu().wait();
    }
    return code;
  }

  int on_qemu_exit() {
    ExitStatus st = vm_.qemu().wait();
    // Drain what is still buffered in the sockets.
    while (!out_.eof) out_.pump();
    while (!err_.eof) err_.pump();
    read_ctl();
    if (result_) return *result_;
    if (killed_) return 128 + SIGKILL;
    std::string qemu = vm_.qemu_errors();
    if (!st.exited() || st.code() != 0 || !qemu.empty())
      fail("QEMU failed ({}){}{}", st.describe(), qemu.empty() ? "" : ": ", qemu);
    fail("the VM stopped before the server exited (guest crash?); console log: {}",
         vm_.console_log().string());
  }

  Vm& vm_;
  AttachOptions o_;
  SignalFd signals_;  // the termination signals, when the session handles them
  UniqueFd pidfd_;
  guest::FrameDecoder decoder_;
  Outflow out_{vm_.stdout_fd(), o_.out};
  Outflow err_{vm_.stderr_fd(), o_.err};
  bool ready_ = false;
  bool stdin_open_ = true;
  bool killed_ = false;
  bool stop_requested_ = false;  // stop_fd was readable
  int signals_seen_ = 0;
  Clock::time_point boot_deadline_;
  std::optional<Clock::time_point> kill_at_, drain_deadline_;
  std::optional<int> result_;
  uint64_t expect_out_ = 0, expect_err_ = 0;
  std::string pending_stdin_;
  std::string ctl_out_;  // whole frames for the ctl port not yet written
};

}  // namespace

int run_attached(Vm& vm, const AttachOptions& options) {
  return Session(vm, options).run();
}

}  // namespace mcpvm::vm
