// Fuzz target: the Host header check (DNS-rebinding protection) on arbitrary bytes. Besides not
// crashing, an accepted Host must really name loopback, and parsing must be case-insensitive.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mcp/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcpvm::mcp;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_host_header(input);
  const bool allowed = host_allowed(input, {});
  if (allowed && !(parsed && is_loopback_host(parsed->host))) __builtin_trap();
  if (parsed) {
    if (parsed->host.empty()) __builtin_trap();
    for (char c : parsed->host)
      if (c >= 'A' && c <= 'Z') __builtin_trap();
    std::string upper(input);
    for (char& c : upper)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (host_allowed(upper, {}) != allowed) __builtin_trap();
  }
  // An extra allowed name admits exactly that host, nothing else.
  if (parsed && !allowed && !host_allowed(input, {parsed->host})) __builtin_trap();
  return 0;
}
