// Fuzz target: a guest's DNS query, parsed and answered.
#include <cstddef>
#include <cstdint>

#include "net/dns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcpvm::net;
  auto result = parse_dns_query(ByteView(data, size));
  if (result.query)
    (void)build_dns_response(*result.query, kDnsNoError, {0x01020304}, 60);
  else if (result.id)
    (void)build_dns_error(*result.id, result.rcode);
  return 0;
}
