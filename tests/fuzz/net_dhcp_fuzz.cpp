// Fuzz target: a DHCP reply as the guest's client receives it.
#include <cstddef>
#include <cstdint>

#include "guest/net/dhcp_client.h"
#include "guest/net/dhcp_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcpvm::guest::net;
  if (auto message = parse_dhcp(std::span<const uint8_t>(data, size))) {
    (void)lease_from_ack(*message);
    (void)build_dhcp(*message);
  }
  return 0;
}
