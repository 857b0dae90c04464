#include "guest/init/exec.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "guest/env.h"
#include "guest/init/server.h"
#include "guest/init/util.h"

namespace mcpvm::guest {

namespace {

// After the command exited and its own output (what its pipes held at the exit) was forwarded, what it
// left in the background and still holds its stdout/stderr gets this long to add output before the exit
// is reported: a leftover holding the pipe (`sh -c 'daemon &'`) delays the exit by this much, no more.
constexpr std::chrono::milliseconds kDrainAfterExit{1000};
constexpr size_t kMaxSessions = 64;
// Output pipes of ended sessions that leftovers still hold; beyond this many the oldest is closed (its
// writers then get EPIPE).
constexpr size_t kMaxOrphans = 64;

struct Pty {
  UniqueFd master, slave;
};

Pty open_pty(WindowSize size) {
  Pty p;
  p.master = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master) fail_sys("opening a pty (/dev/ptmx)");
  char name[64];
  if (::grantpt(p.master.get()) != 0 || ::unlockpt(p.master.get()) != 0 ||
      ::ptsname_r(p.master.get(), name, sizeof name) != 0)
    fail_sys("setting up the pty");
  p.slave = UniqueFd(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave) fail_sys(std::string("opening ") + name);
  winsize ws{};
  ws.ws_row = size.rows;
  ws.ws_col = size.cols;
  ::ioctl(p.slave.get(), TIOCSWINSZ, &ws);
  return p;
}

// Unread bytes in a pipe (or a pty master's input queue).
uint64_t bytes_in(const UniqueFd& fd) {
  int n = 0;
  return fd && ::ioctl(fd.get(), FIONREAD, &n) == 0 && n > 0 ? uint64_t(n) : 0;
}

ExecExit exit_of(int status) {
  ExecExit e;
  if (WIFEXITED(status))
    e.code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    e.signal = WTERMSIG(status), e.code = 128 + e.signal;
  return e;
}

}  // namespace

void ExecServer::send(MsgType type, uint16_t stream, std::string_view payload) {
  // A blocking write keeps frames whole; the host always reads the ctl port and the windows bound how
  // much exec data can be in flight, so this never waits on a slow exec client.
  if (!write_fully(ports_.ctl.get(), encode_frame(type, payload, stream)))
    console("exec: cannot write to the ctl port");
}

void ExecServer::on_frame(const Frame& frame) {
  try {
    if (frame.type == MsgType::ExecStart) return start(frame.stream, frame.payload);
    auto it = sessions_.find(frame.stream);
    if (it == sessions_.end()) return;  // a session that already ended: its frames were in flight
    handle(it->second, frame);
  } catch (const std::exception& e) {
    console(std::string("exec: ignoring a bad message: ") + e.what());
  }
}

void ExecServer::start(uint16_t stream, const std::string& payload) {
  if (stream == 0 || sessions_.count(stream)) return console("exec: start on a stream in use; ignored");
  ExecStart req;
  try {
    req = parse_exec_start(payload);
  } catch (const ProtocolError& e) {
    return send(MsgType::ExecExit, stream, encode_exec_exit({126, 0, e.what()}));
  }
  if (sessions_.size() >= kMaxSessions)
    return send(MsgType::ExecExit, stream, encode_exec_exit({126, 0, "too many exec sessions in this VM"}));
  Session s;
  s.stream = stream;
  s.tty = req.tty;
  try {
    LaunchPlan plan = plan_launch(config_, config_.hostname, {req.argv, req.env, req.user, req.workdir});
    if (req.tty) {
      set_default_env(plan.env, "TERM", "xterm");  // as docker exec -t does
      Pty pty = open_pty({req.rows, req.cols});
      s.pid = spawn_process(plan, pty.slave.get(), pty.slave.get(), pty.slave.get(), true);
      s.out = UniqueFd(::fcntl(pty.master.get(), F_DUPFD_CLOEXEC, 3));
      s.in = std::move(pty.master);
      s.err_eof = true;
    } else {
      Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
      s.pid = spawn_process(plan, in.read.get(), out.write.get(), err.write.get());
      s.in = std::move(in.write);
      s.out = std::move(out.read);
      s.err = std::move(err.read);
    }
  } catch (const SetupError& e) {
    return send(MsgType::ExecExit, stream, encode_exec_exit({e.code(), 0, e.what()}));
  }
  for (const UniqueFd* fd : {&s.in, &s.out, &s.err})
    if (*fd) set_nonblocking(fd->get());
  sessions_.emplace(stream, std::move(s));
}

void ExecServer::handle(Session& s, const Frame& f) {
  switch (f.type) {
    case MsgType::ExecData:
      return on_stdin(s, f.payload);
    case MsgType::ExecEof:
      s.stdin_eof = true;
      return write_stdin(s);
    case MsgType::ExecResize: {
      WindowSize size = parse_resize(f.payload);
      winsize ws{};
      ws.ws_row = size.rows;
      ws.ws_col = size.cols;
      if (s.tty && s.in) ::ioctl(s.in.get(), TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH
      return;
    }
    case MsgType::ExecSignal: {
      int sig = parse_exec_signal(f.payload);
      // To the live command's process group (it ran setsid). Once the command exited, the group holds
      // only what it left running, which is no longer the session's: docker exec never signals it either.
      if (!s.status) ::kill(-s.pid, sig);
      return;
    }
    case MsgType::ExecAck:
      s.output_window.acked(parse_ack(f.payload));
      return;
    case MsgType::ExecClose:
      // The host ended the session: the client went away (or the guest broke the protocol). A live
      // command and its process group are killed, since nobody can reach them any more (docker would
      // leave them running); after the exit, leftovers stay as they would have a moment later.
      return end_session(sessions_.find(s.stream), !s.status);  // the reaper collects the processes
    default:
      return;
  }
}

void ExecServer::on_stdin(Session& s, const std::string& data) {
  s.stdin_window.received(data.size());
  if (s.stdin_broken || !s.in) {
    if (uint32_t n = s.stdin_window.consumed(data.size())) send(MsgType::ExecAck, s.stream, encode_ack(n));
    return;
  }
  s.stdin_buffer += data;
  write_stdin(s);
}

void ExecServer::write_stdin(Session& s) {
  if (s.in && !s.stdin_buffer.empty() && !s.stdin_broken) {
    ssize_t n = ::write(s.in.get(), s.stdin_buffer.data(), s.stdin_buffer.size());
    size_t done = 0;
    if (n > 0) {
      done = size_t(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      s.stdin_broken = true;  // the process closed its stdin: drop what is left
      done = s.stdin_buffer.size();
    }
    s.stdin_buffer.erase(0, done);
    if (done)
      if (uint32_t ack = s.stdin_window.consumed(done)) send(MsgType::ExecAck, s.stream, encode_ack(ack));
  }
  if (!s.in || !s.stdin_buffer.empty() || !(s.stdin_eof || s.stdin_broken)) return;
  if (!s.tty) return s.in.reset();  // EOF for the process
  if (s.stdin_eof && !s.tty_eof_sent) {
    // What a terminal user types for EOF: ends a reader in canonical mode (the pty must stay open).
    s.tty_eof_sent = true;
    [[maybe_unused]] auto n = ::write(s.in.get(), "\x04", 1);
  }
}

void ExecServer::add_poll_fds(std::vector<pollfd>& fds) {
  first_slot_ = fds.size();
  slots_.clear();
  for (auto& [stream, s] : sessions_) {
    bool room = s.output_window.available() > 0;
    if (s.in && !s.stdin_buffer.empty()) {
      fds.push_back({s.in.get(), POLLOUT, 0});
      slots_.push_back({stream, Slot::in});
    }
    if (s.out && !s.out_eof && room) {
      fds.push_back({s.out.get(), POLLIN, 0});
      slots_.push_back({stream, Slot::out});
    }
    if (s.err && !s.err_eof && room) {
      fds.push_back({s.err.get(), POLLIN, 0});
      slots_.push_back({stream, Slot::err});
    }
  }
  // Only here are closed orphans removed, so the indexes in slots_ stay valid until on_poll.
  std::erase_if(orphans_, [](const UniqueFd& fd) { return !fd; });
  for (size_t i = 0; i < orphans_.size(); ++i) {
    fds.push_back({orphans_[i].get(), POLLIN, 0});
    slots_.push_back({i, Slot::orphan});
  }
}

void ExecServer::drain_orphan(size_t index) {
  if (index >= orphans_.size() || !orphans_[index]) return;
  static char sink[65536];
  ssize_t n = ::read(orphans_[index].get(), sink, sizeof sink);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) orphans_[index].reset();
}

void ExecServer::on_poll(const std::vector<pollfd>& fds) {
  for (size_t i = 0; i < slots_.size() && first_slot_ + i < fds.size(); ++i) {
    if (!fds[first_slot_ + i].revents) continue;
    if (slots_[i].which == Slot::orphan) {
      drain_orphan(slots_[i].id);
      continue;
    }
    auto it = sessions_.find(uint16_t(slots_[i].id));
    if (it == sessions_.end()) continue;  // finished while handling an earlier slot
    Session& s = it->second;
    switch (slots_[i].which) {
      case Slot::in:
        write_stdin(s);
        break;
      case Slot::out:
        read_output(s, s.out, s.out_eof, s.out_read, MsgType::ExecData);
        break;
      case Slot::err:
        read_output(s, s.err, s.err_eof, s.err_read, MsgType::ExecStderr);
        break;
      case Slot::orphan:
        break;
    }
  }
}

void ExecServer::read_output(Session& s, UniqueFd& fd, bool& eof, uint64_t& read, MsgType type) {
  uint32_t room = std::min(s.output_window.available(), kExecChunk);
  if (room == 0 || !fd) return;
  std::string buf(room, '\0');
  ssize_t n = ::read(fd.get(), buf.data(), buf.size());
  if (n > 0) {
    buf.resize(size_t(n));
    s.output_window.sent(uint32_t(n));
    read += uint64_t(n);
    send(type, s.stream, buf);
    check_drained(s);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {  // EIO: the pty's last slave closed
    eof = true;
    fd.reset();
    check_drained(s);
    maybe_finish(s);
  }
}

bool ExecServer::on_child_exit(pid_t pid, int status) {
  for (auto& [stream, s] : sessions_) {
    if (s.pid != pid) continue;
    s.status = status;
    // Everything the command wrote is in its pipes now; what arrives beyond that is from its leftovers.
    s.out_owed = s.out_read + bytes_in(s.out);
    s.err_owed = s.err_read + bytes_in(s.err);
    check_drained(s);
    maybe_finish(s);
    return true;
  }
  return false;
}

void ExecServer::check_drained(Session& s) {
  if (!s.status || s.drained_at) return;
  if ((s.out_eof || s.out_read >= s.out_owed) && (s.err_eof || s.err_read >= s.err_owed))
    s.drained_at = Clock::now();
}

void ExecServer::maybe_finish(Session& s) {
  if (s.status && s.out_eof && s.err_eof) finish(s.stream, exit_of(*s.status));
}

void ExecServer::finish(uint16_t stream, const ExecExit& exit) {
  auto it = sessions_.find(stream);
  if (it == sessions_.end()) return;
  send(MsgType::ExecExit, stream, encode_exec_exit(exit));
  end_session(it, false);  // what the command left running keeps running (docker exec semantics)
}

void ExecServer::end_session(std::map<uint16_t, Session>::iterator it, bool kill_group) {
  if (it == sessions_.end()) return;
  Session& s = it->second;
  if (kill_group) ::kill(-s.pid, SIGKILL);
  // Pipes a leftover still holds are drained until it closes them: a leftover that logs to its stdout
  // must not block on a full pipe or die of SIGPIPE. A pty is closed: its leftovers see a hangup (and
  // were sent SIGHUP by the kernel when the session leader exited, as on any terminal).
  if (!s.tty) {
    for (UniqueFd* fd : {&s.out, &s.err}) {
      if (!*fd) continue;
      if (std::count_if(orphans_.begin(), orphans_.end(), [](const UniqueFd& o) { return bool(o); }) >=
          long(kMaxOrphans)) {
        auto oldest =
            std::find_if(orphans_.begin(), orphans_.end(), [](const UniqueFd& o) { return bool(o); });
        oldest->reset();  // removed from the vector by the next add_poll_fds
      }
      orphans_.push_back(std::move(*fd));
    }
  }
  sessions_.erase(it);
}

int ExecServer::timeout_ms() const {
  long best = -1;
  auto now = Clock::now();
  for (const auto& [stream, s] : sessions_) {
    if (!s.drained_at) continue;
    long left =
        std::chrono::duration_cast<std::chrono::milliseconds>(*s.drained_at + kDrainAfterExit - now).count();
    left = std::max(0L, left);
    if (best < 0 || left < best) best = left;
  }
  return int(best);
}

void ExecServer::finish_due() {
  auto now = Clock::now();
  std::vector<std::pair<uint16_t, int>> due;
  for (auto& [stream, s] : sessions_) {
    // Until the command's own output is forwarded (a slow client delays that) the session waits.
    if (s.drained_at && now - *s.drained_at >= kDrainAfterExit) due.emplace_back(stream, *s.status);
  }
  for (auto [stream, status] : due) finish(stream, exit_of(status));
}

}  // namespace mcpvm::guest
