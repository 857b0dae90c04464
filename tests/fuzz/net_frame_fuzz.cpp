// Fuzz target: a guest's byte stream as the runner reads it (length-prefixed frames), every frame
// parsed and judged by the filter of an allowlist policy.
#include <cstddef>
#include <cstdint>

#include "net/filter.h"
#include "net/frame_stream.h"
#include "net/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcpvm::net;
  static const EgressFilter filter(EgressPolicy::allowlist({"a.example.com"}, {443}), VirtualNetwork{});
  FrameDecoder decoder;
  // Half the input as one raw frame, all of it as a stream: both entry points see every input.
  if (auto frame = parse_frame(ByteView(data, size / 2))) (void)filter.inspect(*frame, Clock::now());
  decoder.feed(ByteView(data, size), [&](ByteView bytes) {
    if (auto frame = parse_frame(bytes)) (void)filter.inspect(*frame, Clock::now());
  });
  return 0;
}
