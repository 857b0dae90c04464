// The host's side of exec sessions: multiplexes any number of sessions onto the VM's ctl port (message
// flow and windows: guest/protocol.h). Two kinds of users, on different threads:
//   - the VM driver (vm/attach), which owns the ctl port: it hands every guest frame with a stream id to
//     on_guest_frame() and writes take_outgoing() to the port whenever wake_fd() is readable;
//   - one thread per exec client (the runner's control connections), each holding an ExecSession.
// The guest is untrusted: on_guest_frame never throws; a frame that breaks the protocol ends only the
// session it names (the client gets an error), frames for unknown streams are dropped.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "guest/exec_protocol.h"
#include "util/fd.h"

namespace mcpvm::vm {

struct ExecEvent {
  enum class Kind { stdout_data, stderr_data, exit, error };
  Kind kind;
  std::string data;      // stdout_data / stderr_data; the message for error
  guest::ExecExit exit;  // exit
};

class ExecMux;

// One exec session as its client thread sees it. The destructor ends the session: if the process has
// not exited, the guest kills its process group.
class ExecSession {
 public:
  ~ExecSession();
  ExecSession(const ExecSession&) = delete;
  ExecSession& operator=(const ExecSession&) = delete;

  uint16_t stream() const;
  // Readable when take_events() has something to return or stdin_room() grew.
  int event_fd() const;
  // Output and the end, in order; the last event of a session is exit or error.
  std::vector<ExecEvent> take_events();

  // How many stdin bytes the guest can take now (its window); send_stdin takes at most that many.
  size_t stdin_room() const;
  void send_stdin(std::string_view data);
  void send_eof();
  void resize(guest::WindowSize size);
  void signal(int signal);
  // Output bytes handed on to the client: lets the guest send more.
  void consumed(size_t bytes);

 private:
  friend class ExecMux;
  struct State;
  ExecSession(std::shared_ptr<ExecMux> mux, std::shared_ptr<State> state);
  std::shared_ptr<ExecMux> mux_;
  std::shared_ptr<State> state_;
};

class ExecMux : public std::enable_shared_from_this<ExecMux> {
 public:
  static constexpr size_t kMaxSessions = 64;

  static std::shared_ptr<ExecMux> create();

  // Starts a session (queues ExecStart). Throws Error when the mux is closed or full.
  std::unique_ptr<ExecSession> open(const guest::ExecStart& start);

  // --- the VM driver's side ---
  int wake_fd() const { return wake_.get(); }
  // Encoded frames to write to the ctl port, in order (whole frames only).
  std::string take_outgoing();
  void on_guest_frame(const guest::Frame& frame) noexcept;
  // The VM is gone: every open session ends with `reason`, later open() calls fail with it.
  void close(const std::string& reason);

  // Counters for tests and logs.
  size_t open_sessions() const;
  uint64_t dropped_frames() const;

 private:
  friend class ExecSession;
  ExecMux();
  uint16_t allocate_stream();                                                  // with mu_ held
  void queue(guest::MsgType type, uint16_t stream, std::string_view payload);  // with mu_ held
  void end(ExecSession::State& s, ExecEvent event);                            // with mu_ held
  void release(ExecSession::State& s);

  mutable std::mutex mu_;
  UniqueFd wake_;
  std::string outgoing_;
  std::map<uint16_t, std::shared_ptr<ExecSession::State>> sessions_;
  uint16_t next_stream_ = 1;
  bool closed_ = false;
  std::string closed_reason_;
  uint64_t dropped_ = 0;
};

}  // namespace mcpvm::vm
