// The Configure control message (guest/protocol.h), host → guest, for a VM restored from a warm-start
// template (docs/warm-start.md): the template's init booted with no identity and waits; this message hands
// it the VM's whole configuration plus what makes the clone a new machine (fresh entropy, the wall clock).
// Pure functions shared by the host (encode) and the init (parse), unit-tested against hostile payloads.
//
// Payload: {"version": 1, "config": {GuestConfig}, "entropy": "<hex>", "unix_time_ns": N}
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "guest/config.h"

namespace mcpvm::guest {

inline constexpr int kConfigureVersion = 1;
// Entropy bytes the host sends; the init credits all of them (RNDADDENTROPY) and forces a CRNG reseed.
inline constexpr size_t kMinConfigureEntropy = 32;
inline constexpr size_t kMaxConfigureEntropy = 512;

struct ConfigureMessage {
  GuestConfig config;
  std::string entropy;       // raw bytes (hex on the wire)
  int64_t unix_time_ns = 0;  // the host's CLOCK_REALTIME when it sent the message
};

std::string encode_configure(const ConfigureMessage& message);

// Strict: exactly the four keys, version kConfigureVersion, entropy of kMin..kMaxConfigureEntropy bytes in
// lower- or upper-case hex, a positive time, a config that parses as GuestConfig. Throws ProtocolError
// naming what is wrong.
ConfigureMessage parse_configure(std::string_view payload);

}  // namespace mcpvm::guest
