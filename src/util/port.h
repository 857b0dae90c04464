// TCP/UDP port numbers as users and files spell them.
#pragma once

#include <cstdint>
#include <string_view>

namespace mcpvm {

// "8080" -> 8080. Accepts exactly the decimal numbers 1..65535 (no sign, spaces or leading "+"); throws
// Error("\"x\" is not a port number (1-65535)") otherwise.
uint16_t parse_port(std::string_view text);

}  // namespace mcpvm
