// Signals read from a signalfd instead of handlers: the calling thread blocks them for the object's life
// (threads created meanwhile inherit the block) and poll()s fd() alongside its other fds.
#pragma once

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <initializer_list>

#include "util/error.h"
#include "util/fd.h"

namespace mcpvm {

class SignalFd {
 public:
  // No signals: nothing is blocked and fd() is -1, which poll() skips.
  SignalFd() = default;
  explicit SignalFd(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    if (signals.size() == 0) return;
    ::sigprocmask(SIG_BLOCK, &set, &old_);
    fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd_) {
      int saved = errno;
      ::sigprocmask(SIG_SETMASK, &old_, nullptr);
      errno = saved;
      fail_errno("signalfd");
    }
  }
  ~SignalFd() {
    if (fd_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;

  int fd() const { return fd_.get(); }
  // The next pending signal's number, 0 if none.
  int take() {
    signalfd_siginfo si;
    return ::read(fd_.get(), &si, sizeof si) == sizeof si ? int(si.ssi_signo) : 0;
  }

 private:
  sigset_t old_{};
  UniqueFd fd_;
};

}  // namespace mcpvm
