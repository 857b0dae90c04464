#include "guest/init/configure.h"

#include "guest/configure_message.h"
#include "guest/init/ctl_frame.h"
#include "guest/init/fresh_identity.h"
#include "guest/init/server.h"
#include "guest/init/system.h"
#include "guest/init/util.h"
#include "guest/protocol.h"
#include "guest/secrets_message.h"

namespace mcpvm::guest {

GuestConfig await_configuration(Ports& ports) {
  send_ctl(ports, int(MsgType::Configurable), "{}");
  console_phase("waiting for configuration");
  // The snapshot is taken inside this wait; the guest's clock stands still while it is stored, so the
  // deadline only counts time the restored VM runs.
  std::string payload = receive_frame(
      ports, MsgType::Configure, std::chrono::steady_clock::now() + std::chrono::minutes(10), "configure");
  ConfigureMessage message;
  try {
    message = parse_configure(payload);
  } catch (const ProtocolError& e) {
    throw SetupError(e.what());
  }
  wipe_string(payload);  // the config may carry env values
  reseed_kernel_rng(message.entropy);
  wipe_string(message.entropy);
  set_wall_clock(message.unix_time_ns);
  console_phase("configured (entropy credited, CRNG reseeded, clock set)");
  std::string module_times = load_modules(message.config.modules);
  console_phase("deferred modules loaded (" + module_times + ")");
  return std::move(message.config);
}

}  // namespace mcpvm::guest
