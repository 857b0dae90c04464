// The virtio-serial ports the host attached, found by name in /sys/class/virtio-ports/*/name (there is
// no udev in the guest to create /dev/virtio-ports/<name> links; devtmpfs provides /dev/vportNpM).
#pragma once

#include <chrono>

#include "guest/init/util.h"

namespace mcpvm::guest {

struct Ports {
  UniqueFd ctl;      // read/write, non-blocking
  UniqueFd stdin_;   // read, non-blocking
  UniqueFd stdout_;  // write, non-blocking
  UniqueFd stderr_;  // write, non-blocking
};

// Waits (ports appear asynchronously after virtio_console loads) and opens all four ports.
Ports open_ports(std::chrono::milliseconds timeout);

}  // namespace mcpvm::guest
