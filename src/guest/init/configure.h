// The warm-start handshake of a template's init (docs/warm-start.md): the template boots with no identity,
// reports Configurable and waits; the host snapshots it there. A VM restored from that snapshot resumes
// inside the wait, receives Configure (guest/configure_message.h) and becomes a machine of its own.
#pragma once

#include "guest/config.h"
#include "guest/init/ports.h"

namespace mcpvm::guest {

// Sends Configurable, waits for Configure, then, before anything else: credits the host's entropy and
// reseeds the CRNG, sets the wall clock, and loads the config's (deferred) modules, e.g. virtio_blk, whose
// probe reads the root disk the restoring QEMU attached. Returns the VM's config. Throws SetupError.
GuestConfig await_configuration(Ports& ports);

}  // namespace mcpvm::guest
