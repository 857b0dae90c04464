// Exec sessions in the guest (`mcpvm exec`): processes started on the host's request, multiplexed on the
// ctl port by stream id (message flow and flow control: guest/protocol.h). The init's main loop owns
// the poll set and the reaper; it hands this class the exec frames, its poll slots and every reaped
// child that is not the server.
//
// As with docker exec, what a command starts in the background outlives it: when the command exits its
// session ends (the exit is reported once the command's own output is forwarded) and nothing is killed.
// Only the host ends a live command's process group: a signal it forwards (ExecSignal), or ExecClose
// (the exec client went away). Output pipes still held by leftovers are read and discarded until they
// close, so a leftover that writes to them neither blocks nor gets SIGPIPE.
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
    UniqueFd in, out, err;  // with a tty: `in` is the pty master, `out` a dup of it, no `err`
    std::string stdin_buffer;
    bool stdin_eof = false;     // the host sent ExecEof
    bool stdin_broken = false;  // the process closed its stdin: data is dropped (and acknowledged)
    bool tty_eof_sent = false;
    bool out_eof = false, err_eof = false;
    ReceiveWindow stdin_window;
    SendWindow output_window;
    std::optional<int> status;
    uint64_t out_read = 0, err_read = 0;  // bytes read from the process's stdout / stderr
    // Set at the exit: what was read + what was still in the pipe = the command's own output (what comes
    // later is from what it left running).
    uint64_t out_owed = 0, err_owed = 0;
    std::optional<Clock::time_point> drained_at;  // exited, and its own output forwarded
  };

  void start(uint16_t stream, const std::string& payload);
  void handle(Session& s, const Frame& frame);
  void on_stdin(Session& s, const std::string& data);
  void write_stdin(Session& s);
  void read_output(Session& s, UniqueFd& fd, bool& eof, uint64_t& read, MsgType type);
  void drain_orphan(size_t index);
  void check_drained(Session& s);
  void maybe_finish(Session& s);
  void finish(uint16_t stream, const ExecExit& exit);
  // Removes a session; `kill_group`: SIGKILL its process group first (the host ended a live command).
  void end_session(std::map<uint16_t, Session>::iterator it, bool kill_group);
  void send(MsgType type, uint16_t stream, std::string_view payload);

  const GuestConfig& config_;
  Ports& ports_;
  std::map<uint16_t, Session> sessions_;
  // Output pipes of ended sessions that leftovers still hold: drained (and discarded) until EOF.
  std::vector<UniqueFd> orphans_;
  struct Slot {
    size_t id;  // the stream, or for `orphan` the index into orphans_
    enum { in, out, err, orphan } which;
  };
  std::vector<Slot> slots_;
  size_t first_slot_ = 0;
};

}  // namespace mcpvm::guest
