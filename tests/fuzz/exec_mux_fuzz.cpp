// Fuzz target: what a hostile guest can send about exec sessions. The bytes are decoded as ctl frames
// (any split) and handed to an ExecMux with open sessions, as the VM driver does; every payload is also
// run through the exec payload parsers. Invariants: nothing but ProtocolError escapes the decoder or
// the parsers, on_guest_frame never throws, and no session ever holds more undelivered output than the
// window.
#include <cstdint>
#include <cstdlib>

#include "guest/exec_protocol.h"
#include "vm/exec_mux.h"

using namespace mcpvm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto mux = vm::ExecMux::create();
  std::vector<std::unique_ptr<vm::ExecSession>> sessions;
  for (int i = 0; i < 3; ++i)
    sessions.push_back(mux->open(guest::ExecStart{{"sh"}, {}, false, 24, 80, "", ""}));
  guest::FrameDecoder decoder;
  try {
    decoder.feed(bytes);
    while (auto f = decoder.next()) {
      for (auto parse : {+[](std::string_view p) { guest::parse_exec_start(p); },
                         +[](std::string_view p) { guest::parse_exec_exit(p); },
                         +[](std::string_view p) { guest::parse_resize(p); },
                         +[](std::string_view p) { guest::parse_exec_signal(p); },
                         +[](std::string_view p) { guest::parse_ack(p); }}) {
        try {
          parse(f->payload);
        } catch (const guest::ProtocolError&) {
        }
      }
      f->stream = uint16_t(f->stream % 5);  // hit the open sessions (1..3) as well as unknown ones
      mux->on_guest_frame(*f);
      for (auto& s : sessions) {
        size_t data_bytes = 0;
        for (auto& e : s->take_events())
          if (e.kind == vm::ExecEvent::Kind::stdout_data || e.kind == vm::ExecEvent::Kind::stderr_data)
            data_bytes += e.data.size();
        if (data_bytes > guest::kExecWindow) std::abort();
      }
    }
  } catch (const guest::ProtocolError&) {
  }
  mux->take_outgoing();
  return 0;
}
