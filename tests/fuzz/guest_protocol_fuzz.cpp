// Fuzz target: the control-channel decoder (bytes a guest, possibly hostile, sends the host), fed in
// arbitrary splits. Invariants: no crash, frames never exceed kMaxPayload, a ProtocolError is the only
// failure, and re-encoding a decoded frame gives back the same bytes. A Secrets frame's payload also goes
// through the init's parser (guest/secrets_message.h): ProtocolError is its only failure too.
#include <cstdint>
#include <cstdlib>

#include "guest/protocol.h"
#include "guest/secrets_message.h"

using namespace mcpvm::guest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t split = size ? data[0] % (size + 1) : 0;
  FrameDecoder d;
  try {
    for (std::string_view part : {bytes.substr(0, split), bytes.substr(split)}) {
      d.feed(part);
      while (auto f = d.next()) {
        if (f->payload.size() > kMaxPayload) std::abort();
        std::string again = encode_frame(f->type, f->payload, f->stream);
        FrameDecoder check;
        check.feed(again);
        auto g = check.next();
        if (!g || g->payload != f->payload || g->type != f->type || g->stream != f->stream) std::abort();
        if (f->type == MsgType::Secrets) {
          try {
            auto env = parse_secrets(f->payload, size % 4);
            if (env.size() != size % 4) std::abort();
          } catch (const ProtocolError&) {
          }
        }
      }
    }
  } catch (const ProtocolError&) {
  }
  return 0;
}
