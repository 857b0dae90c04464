// Payloads of the exec-session control frames (see guest/protocol.h for the message flow). Pure
// functions shared by the guest init and the host; every parse_* validates untrusted bytes and throws
// ProtocolError with a one-line reason, never anything else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "guest/protocol.h"

namespace mcpvm::guest {

// Limits on what one ExecStart may carry (the frame itself is capped by kMaxPayload as well).
inline constexpr size_t kExecMaxArgs = 4096;
inline constexpr size_t kExecMaxEnv = 4096;

struct ExecStart {
  std::vector<std::string> argv;  // non-empty; argv[0] is looked up in the session's PATH
  std::vector<std::string> env;   // "K=V", layered over the server's environment
  bool tty = false;
  uint16_t rows = 24, cols = 80;  // the pty's initial window size (tty only)
  std::string user;               // empty: the image's User
  std::string workdir;            // empty: the image's WorkingDir
};

struct ExecExit {
  int code = 0;       // shell convention: exit code, or 128 + signal
  int signal = 0;     // terminating signal, 0 if it exited
  std::string error;  // set when the command could not be started
};

struct WindowSize {
  uint16_t rows = 24, cols = 80;
};

std::string encode_exec_start(const ExecStart& start);
ExecStart parse_exec_start(std::string_view payload);

std::string encode_exec_exit(const ExecExit& exit);
ExecExit parse_exec_exit(std::string_view payload);

std::string encode_resize(WindowSize size);
WindowSize parse_resize(std::string_view payload);

std::string encode_exec_signal(int signal);
int parse_exec_signal(std::string_view payload);  // 1..64

std::string encode_ack(uint32_t bytes);
uint32_t parse_ack(std::string_view payload);  // 1..kExecWindow

// Tracks one direction's window on the sending side.
class SendWindow {
 public:
  uint32_t available() const { return kExecWindow - in_flight_; }
  void sent(uint32_t n) { in_flight_ += n; }
  // An ack for more than was sent is a protocol violation.
  void acked(uint32_t n) {
    if (n > in_flight_) throw ProtocolError("exec: acknowledgement for more bytes than were sent");
    in_flight_ -= n;
  }

 private:
  uint32_t in_flight_ = 0;
};

// Tracks one direction's window on the receiving side.
class ReceiveWindow {
 public:
  // A data frame arrived; more than the window outstanding is a protocol violation.
  void received(size_t n) {
    if (n > kExecWindow - outstanding_ - unacked_)
      throw ProtocolError("exec: the peer sent more data than its window");
    outstanding_ += uint32_t(n);
  }
  // Bytes consumed locally; returns how many to acknowledge now (batched to limit ack traffic).
  uint32_t consumed(size_t n) {
    outstanding_ -= uint32_t(n);
    unacked_ += uint32_t(n);
    if (unacked_ < kExecWindow / 4 && outstanding_ > 0) return 0;
    return std::exchange(unacked_, 0);
  }
  uint32_t outstanding() const { return outstanding_; }

 private:
  // outstanding_ + unacked_ is what the sender counts as in flight.
  uint32_t outstanding_ = 0;  // received, not yet consumed
  uint32_t unacked_ = 0;      // consumed, not yet acknowledged
};

}  // namespace mcpvm::guest
