// QEMU's stream netdev framing (`-netdev socket,fd=N` on a SOCK_STREAM socket, and `-netdev stream`):
// every Ethernet frame is preceded by its length as a 4-byte big-endian integer (QEMU net/stream.c,
// net/socket.c). The peer is untrusted; frames longer than kMaxFrameSize are skipped, not buffered.
#pragma once

#include <cstdint>
#include <functional>

#include "net/packet.h"

namespace mcpvm::net {

class FrameDecoder {
 public:
  // Consumes bytes, calling on_frame for every complete frame (empty frames are ignored).
  void feed(ByteView data, const std::function<void(ByteView)>& on_frame);
  uint64_t oversized_frames() const { return oversized_; }
  size_t buffered() const { return buffer_.size(); }

 private:
  Bytes buffer_;
  size_t skip_ = 0;  // bytes still to discard of an oversized frame
  uint64_t oversized_ = 0;
};

// Appends the 4-byte length prefix and the frame to out.
void append_frame(Bytes& out, ByteView frame);

}  // namespace mcpvm::net
