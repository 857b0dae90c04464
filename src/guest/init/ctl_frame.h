// Reading one whole control frame from the ctl port before the server loop owns it (guest/protocol.h):
// exactly that frame's bytes, so the frames after it stay in the port for whoever reads next.
#pragma once

#include <chrono>
#include <string>

#include "guest/init/ports.h"
#include "guest/protocol.h"

namespace mcpvm::guest {

// The payload of the next frame, which must be of type `type` on stream 0. Throws SetupError("<what>: ...")
// when it is another frame, its header is bad, the port closes, or it does not arrive by `deadline`.
// The caller wipes the payload when it holds secrets.
std::string receive_frame(Ports& ports, MsgType type, std::chrono::steady_clock::time_point deadline,
                          const std::string& what);

}  // namespace mcpvm::guest
