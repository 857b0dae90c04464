#include "guest/init/ctl_frame.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

namespace mcpvm::guest {

namespace {

using Clock = std::chrono::steady_clock;

// Exactly n bytes from the non-blocking ctl port, by the deadline.
std::string read_exactly(int fd, size_t n, Clock::time_point deadline, const std::string& what) {
  std::string out;
  out.reserve(n);  // one buffer: no reallocation leaves a stray copy of a secret behind
  char byte_buf[4096];
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) throw SetupError(what + ": the host did not send it in time");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, int(left)) <= 0) continue;
    size_t want = std::min(n - out.size(), sizeof byte_buf);
    ssize_t r = ::read(fd, byte_buf, want);
    if (r == 0) throw SetupError(what + ": the host closed the control port");
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      fail_sys(what + ": reading the control port");
    }
    out.append(byte_buf, size_t(r));
  }
  volatile char* wipe = byte_buf;
  for (size_t i = 0; i < sizeof byte_buf; ++i) wipe[i] = 0;
  return out;
}

}  // namespace

std::string receive_frame(Ports& ports, MsgType type, Clock::time_point deadline, const std::string& what) {
  std::string header = read_exactly(ports.ctl.get(), kHeaderSize, deadline, what);
  auto byte = [&](size_t i) { return uint32_t(uint8_t(header[i])); };
  uint32_t len = byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
  if (MsgType(byte(4)) != type || byte(5) != 0 || byte(6) != 0 || byte(7) != 0)
    throw SetupError(what + ": unexpected control message from the host");
  if (len > kMaxPayload) throw SetupError(what + ": message too large");
  return read_exactly(ports.ctl.get(), len, deadline, what);
}

}  // namespace mcpvm::guest
