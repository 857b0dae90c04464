// The runner's control socket: a unix stream socket (0600) at $MCPVM_HOME/vms/NAME/control.sock speaking
// JSON lines — one JSON object per '\n'-terminated line, at most 1 MiB each, in both directions.
//
// Requests (the first line of a connection):
//   {"op":"status"}                       -> {"ok":true,"state":{...state.json...}}
//   {"op":"stop","timeout_s":10}          -> {"ok":true,"state":{...}} once the VM is down
//   {"op":"restart","timeout_s":10}       -> {"ok":true,"state":{...}} once the VM is down; the runner then
//                                            boots it again (same endpoint listener and token)
//   {"op":"exec","argv":[...],"tty":bool,"interactive":bool,"rows":R,"cols":C,"env":[..]}
//        then a stream: client -> {"stdin":"<base64>"} {"eof":true} {"resize":[R,C]} {"signal":N}
//                       runner -> {"stdout":"<base64>"} {"stderr":"<base64>"} {"exit":CODE}
// Failures: {"ok":false,"error":"one line"}.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"

namespace mcpvm::runner {

constexpr size_t kMaxControlLine = 1 << 20;

// Splits a byte stream into lines. Pure (no I/O) so it can be fed adversarial input directly.
class LineBuffer {
 public:
  explicit LineBuffer(size_t max_line = kMaxControlLine) : max_line_(max_line) {}
  // Appends bytes; throws Error when a line grows past max_line.
  void feed(std::string_view bytes);
  // The next complete line without its '\n', if any.
  std::optional<std::string> next_line();

 private:
  std::string buffer_;
  size_t scanned_ = 0;
  size_t max_line_;
};

// Parses one control line into a JSON object; throws Error ("malformed control message: ...") otherwise.
nlohmann::json parse_control_line(std::string_view line);

// The first line of a connection, typed. Throws Error naming the bad key ("control request: op: ...").
struct ControlRequest {
  enum class Op { status, stop, restart, exec };
  Op op = Op::status;
  std::chrono::milliseconds stop_timeout{10000};  // stop, restart: SIGTERM to power-off ("timeout_s", >= 0)
  nlohmann::json message;                         // the whole line (exec_bridge.h reads exec's fields)
};
ControlRequest parse_control_request(const nlohmann::json& message);

// One end of a control connection.
class ControlChannel {
 public:
  explicit ControlChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  void send(const nlohmann::json& message);
  // The next message; nullopt on timeout (timeout_ms < 0: wait forever). Throws Error when the peer
  // closed the connection or sent garbage.
  std::optional<nlohmann::json> receive(int timeout_ms);
  // Reads what is available without blocking and returns complete messages; sets `closed` on EOF.
  std::vector<nlohmann::json> receive_available(bool& closed);

 private:
  UniqueFd fd_;
  LineBuffer lines_;
};

// Connects to a runner's socket; throws Error naming the VM-level cause (no runner listening, ...).
ControlChannel connect_control(const std::filesystem::path& socket_path);

// Sends one request and waits for its single reply. Throws on {"ok":false} with the runner's message.
nlohmann::json control_call(const std::filesystem::path& socket_path, const nlohmann::json& request,
                            int timeout_ms);

// Binds and listens (0600); a stale socket file left by a dead runner is replaced.
UniqueFd listen_control(const std::filesystem::path& socket_path);

std::string base64_encode(std::string_view data);
std::string base64_decode(std::string_view text);  // throws Error on invalid input

}  // namespace mcpvm::runner
