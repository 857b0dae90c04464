#include "guest/init/secrets.h"

#include "guest/init/ctl_frame.h"
#include "guest/protocol.h"
#include "guest/secrets_message.h"

namespace mcpvm::guest {

std::vector<std::string> receive_secrets(Ports& ports, uint32_t count, std::chrono::milliseconds timeout) {
  if (count == 0) return {};
  std::string payload =
      receive_frame(ports, MsgType::Secrets, std::chrono::steady_clock::now() + timeout, "secrets");
  try {
    auto env = parse_secrets(payload, count);
    wipe_string(payload);
    return env;
  } catch (const ProtocolError& e) {
    wipe_string(payload);
    throw SetupError(e.what());
  }
}

}  // namespace mcpvm::guest
