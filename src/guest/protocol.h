// The control channel between the guest init and the host (runner or `run --foreground`), carried by
// the virtio-serial port named kCtlPort. The server's stdin, stdout and stderr each travel on their own
// port as raw bytes (separate ports because closing the host side of a port is how stdin EOF reaches
// the guest, and that must not end stdout).
//
// Framing: every message is an 8-byte header followed by `length` payload bytes:
//   u32 length (little-endian) | u8 type | u8 flags (0) | u16 stream (little-endian)
// `stream` is 0 for VM-wide messages; exec sessions (added later) use their own stream ids so their
// data can be multiplexed here. Payloads of the JSON types are one JSON object; the data types carry
// raw bytes. A receiver treats a bad header (length over kMaxPayload, flags set) as a fatal protocol
// error: the peer is broken or hostile and nothing after it can be trusted.
//
// The lifecycle of a VM:
//   host  → guest Secrets {"env": ["K=V", ...]}               only when GuestConfig::secret_count > 0: the
//                         host's first frame, written as soon as the ctl port exists; the init waits for
//                         it before it execs the server and puts these entries above every other env
//                         layer (guest/secrets_message.h parses it; exactly secret_count entries). The
//                         only way secret values enter a guest: never the initramfs or the kernel cmdline.
//   guest → host  Ready   {}                                  init is about to exec the server
//   guest → host  Error   {"message": "...", "code": 126}     init could not start the server
//   host  → guest Signal  {"signal": 15}                      forwarded to the server's process group
//   guest → host  Exit    {"code": 3, "signal": 0, "stdout_bytes": N, "stderr_bytes": M}
//   host  → guest Shutdown {}   once the host has received N/M bytes: the guest syncs and powers off.
//
// Warm start (docs/warm-start.md): a template's init (GuestConfig::template_wait) boots without identity:
//   guest → host  Configurable {}      modules loaded, ports open: the host may snapshot the VM now
//   host  → guest Configure {"version":1,"config":{..},"entropy":"<hex>","unix_time_ns":N}
//                         the restored VM's first frame (guest/configure_message.h); Secrets, if any,
//                         follow it. The init reseeds its RNG and sets its clock before anything else.
// The Exit → Shutdown handshake is what makes "nothing lost at exit" hold: a guest write to a port
// returns before QEMU has consumed it, so the guest must not reset the VM until the host confirms.
//
// Exec sessions (`mcpvm exec`): the host picks a stream id (1..65535, not reused while a session with
// it may still have frames in flight) per session; every frame of the session carries it. Payloads are
// in guest/exec_protocol.h (pure encode/parse functions, unit-tested against hostile input).
//   host  → guest ExecStart  {"argv":[..],"env":["K=V"..],"tty":b,"rows":R,"cols":C,"user":"","workdir":""}
//   host  → guest ExecData   raw bytes for the process's stdin (or the pty)
//   host  → guest ExecEof    {}  stdin ends (the pipe is closed; ignored with a tty)
//   host  → guest ExecResize {"rows":R,"cols":C}     the pty's window size (TIOCSWINSZ → SIGWINCH)
//   host  → guest ExecSignal {"signal":N}            to the session's process group
//   host  → guest ExecClose  {}  the host's client went away: SIGKILL to the process group, forget it
//   guest → host  ExecData   raw stdout bytes (with a tty: everything the pty printed)
//   guest → host  ExecStderr raw stderr bytes (never with a tty)
//   guest → host  ExecExit   {"code":C,"signal":S[,"error":"..."]}  last frame of the stream; error is
//                            set when the command could not be started (code 126/127, docker's rule)
//   both          ExecAck    {"bytes":N}  the receiver consumed N data bytes of this stream
// Flow control: per stream and direction at most kExecWindow data bytes (ExecData/ExecStderr payloads)
// may be unacknowledged; a sender stops reading its source when the window is used up, so one slow
// reader (a process not reading stdin, a client not reading stdout) never blocks the shared ctl port.
// A receiver that gets more than the window ends that session (the peer is broken or hostile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mcpvm::guest {

// virtio-serial port names (the guest finds them in /sys/class/virtio-ports/*/name).
inline constexpr const char* kCtlPort = "mcpvm.ctl";
inline constexpr const char* kStdinPort = "mcpvm.stdin";
inline constexpr const char* kStdoutPort = "mcpvm.stdout";
inline constexpr const char* kStderrPort = "mcpvm.stderr";

enum class MsgType : uint8_t {
  Ready = 1,
  Error = 2,
  Exit = 3,
  Signal = 4,
  Shutdown = 5,
  Secrets = 6,
  Configurable = 7,
  Configure = 8,
  // Exec sessions (stream != 0), see above.
  ExecStart = 16,
  ExecData = 17,
  ExecEof = 18,
  ExecExit = 19,
  ExecStderr = 20,
  ExecResize = 21,
  ExecSignal = 22,
  ExecAck = 23,
  ExecClose = 24,
};

// Unacknowledged data bytes allowed per exec stream and direction.
inline constexpr uint32_t kExecWindow = 1024 * 1024;
// Largest data payload a sender puts in one ExecData/ExecStderr frame.
inline constexpr uint32_t kExecChunk = 64 * 1024;

inline constexpr size_t kHeaderSize = 8;
inline constexpr uint32_t kMaxPayload = 1u << 20;

struct Frame {
  MsgType type{};
  uint16_t stream = 0;
  std::string payload;
};

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::string encode_frame(MsgType type, std::string_view payload, uint16_t stream = 0) {
  if (payload.size() > kMaxPayload) throw ProtocolError("control message too large");
  std::string out(kHeaderSize, '\0');
  auto len = uint32_t(payload.size());
  for (int i = 0; i < 4; ++i) out[size_t(i)] = char((len >> (8 * i)) & 0xff);
  out[4] = char(type);
  out[5] = 0;
  out[6] = char(stream & 0xff);
  out[7] = char(stream >> 8);
  out.append(payload);
  return out;
}

// Incremental decoder: feed() bytes as they arrive (any split), next() returns whole frames.
class FrameDecoder {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }

  // The next complete frame, or nullopt if more bytes are needed. Throws ProtocolError on a bad header.
  std::optional<Frame> next() {
    if (buffer_.size() - pos_ < kHeaderSize) return compact(), std::nullopt;
    auto byte = [&](size_t i) { return uint32_t(uint8_t(buffer_[pos_ + i])); };
    uint32_t len = byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
    if (len > kMaxPayload)
      throw ProtocolError("control message length " + std::to_string(len) + " too large");
    if (byte(5) != 0) throw ProtocolError("control message with unknown flags");
    if (buffer_.size() - pos_ < kHeaderSize + len) return compact(), std::nullopt;
    Frame f;
    f.type = MsgType(byte(4));
    f.stream = uint16_t(byte(6) | byte(7) << 8);
    f.payload = buffer_.substr(pos_ + kHeaderSize, len);
    pos_ += kHeaderSize + len;
    return f;
  }

  size_t buffered() const { return buffer_.size() - pos_; }

 private:
  void compact() {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  std::string buffer_;
  size_t pos_ = 0;
};

}  // namespace mcpvm::guest
