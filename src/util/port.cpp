#include "util/port.h"

#include <charconv>

#include "util/error.h"

namespace mcpvm {

uint16_t parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    fail("{:?} is not a port number (1-65535)", text);
  return static_cast<uint16_t>(value);
}

}  // namespace mcpvm
