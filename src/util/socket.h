// Small socket helpers shared by every concern.
#pragma once

#include <cstdint>
#include <utility>

#include "util/fd.h"

namespace mcpvm {

// A connected pair of AF_UNIX stream sockets (close-on-exec). Throws Error.
std::pair<UniqueFd, UniqueFd> stream_socketpair();

// A TCP port on 127.0.0.1 that is free right now (bound to 0, read back, released). Whoever binds it
// next may lose a race with another process: callers retry. Throws Error.
uint16_t free_loopback_port();

}  // namespace mcpvm
