// Receiving the server's secrets from the host (the Secrets control message, guest/protocol.h): the
// init's only source of secret values. Nothing here writes a file or logs a value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "guest/init/ports.h"

namespace mcpvm::guest {

// With count == 0 returns {} at once. Otherwise reads exactly one frame from the ctl port (exactly its
// bytes, so frames after it stay for the server loop), which must be Secrets with `count` entries.
// Throws SetupError when it is anything else, malformed, or does not arrive within `timeout`.
// The caller wipes the result (wipe_strings) once the server has been exec'ed.
std::vector<std::string> receive_secrets(Ports& ports, uint32_t count, std::chrono::milliseconds timeout);

}  // namespace mcpvm::guest
