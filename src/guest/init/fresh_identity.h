// Making a guest restored from a warm-start template a machine of its own (docs/warm-start.md): every
// restored VM starts from the same memory image, so the kernel's RNG state and the clock are the template's
// until these run. The init calls them first thing after the Configure message, before anything else
// reads randomness or time.
#pragma once

#include <cstdint>
#include <string_view>

namespace mcpvm::guest {

// Mixes the host's random bytes into the kernel's pool, credited as full entropy (RNDADDENTROPY, needs
// CAP_SYS_ADMIN), then forces the CRNG to reseed from the pool now (RNDRESEEDCRNG) rather than at its
// next scheduled reseed, so no output after this depends only on the template's state.
void reseed_kernel_rng(std::string_view host_entropy);

// Sets CLOCK_REALTIME from the host's wall clock (the template's is stale by however long it was stored).
void set_wall_clock(int64_t unix_time_ns);

}  // namespace mcpvm::guest
