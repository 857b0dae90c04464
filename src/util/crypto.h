// The two cryptographic primitives the runtime itself needs, from OpenSSL (never hand-written):
// unpredictable tokens and a comparison of secrets whose time does not depend on where they differ.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mcpvm {

// `bytes` bytes from OpenSSL's CSPRNG, as lowercase hex (2 * bytes characters). Throws Error if the
// generator fails.
std::string random_hex(size_t bytes);

// Whether a == b. The time taken depends only on the lengths, never on the contents: use it for
// credentials a client presents (a length mismatch returns at once, which reveals only the length).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace mcpvm
