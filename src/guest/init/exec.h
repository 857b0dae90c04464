// Exec sessions in the guest (`mcpvm exec`): processes started on the host's request, multiplexed on the
// ctl port by stream id (message flow and flow control: guest/protocol.h). The init's main loop owns
// the poll set and the reaper; it hands this class the exec frames, its poll slots and every reaped
// child that is not the server.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "guest/config.h"
#include "guest/exec_protocol.h"
#include "guest/init/ports.h"

namespace mcpvm::guest {

class ExecServer {
 public:
  ExecServer(const GuestConfig& config, Ports& ports) : config_(config), ports_(ports) {}

  // A host → guest frame with an Exec* type. Never throws: a bad frame ends its session.
  void on_frame(const Frame& frame);

  // Appends this round's poll slots to `fds` (remembers where they start).
  void add_poll_fds(std::vector<pollfd>& fds);
  // Handles the revents of the slots added by the last add_poll_fds.
  void on_poll(const std::vector<pollfd>& fds);

  // A reaped child: true if it was a session's process (its exit is reported once its output is drained).
  bool on_child_exit(pid_t pid, int status);

  // Milliseconds until the next deadline (-1: none); finish_due() ends the sessions whose is due.
  int timeout_ms() const;
  void finish_due();

  size_t sessions() const { return sessions_.size(); }

 private:
  using Clock = std::chrono::steady_clock;

  struct Session {
    uint16_t stream = 0;
    pid_t pid = -1;
    bool tty = false;
    Fd in, out, err;  // with a tty: `in` is the pty master, `out` a dup of it, no `err`
    std::string stdin_buffer;
    bool stdin_eof = false;     // the host sent ExecEof
    bool stdin_broken = false;  // the process closed its stdin: data is dropped (and acknowledged)
    bool tty_eof_sent = false;
    bool out_eof = false, err_eof = false;
    ReceiveWindow stdin_window;
    SendWindow output_window;
    std::optional<int> status;
    Clock::time_point quiet_since;  // the last output, or the exit; drives the drain deadline
  };

  void start(uint16_t stream, const std::string& payload);
  void handle(Session& s, const Frame& frame);
  void on_stdin(Session& s, const std::string& data);
  void write_stdin(Session& s);
  void read_output(Session& s, Fd& fd, bool& eof, MsgType type);
  void maybe_finish(Session& s);
  void finish(uint16_t stream, const ExecExit& exit);
  void send(MsgType type, uint16_t stream, std::string_view payload);

  const GuestConfig& config_;
  Ports& ports_;
  std::map<uint16_t, Session> sessions_;
  struct Slot {
    uint16_t stream;
    enum { in, out, err } which;
  };
  std::vector<Slot> slots_;
  size_t first_slot_ = 0;
};

}  // namespace mcpvm::guest
