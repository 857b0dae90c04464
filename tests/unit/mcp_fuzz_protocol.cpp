// libFuzzer entry point for the MCP parsing layer: request bodies (parse_body), SSE streams (SseParser),
// header checks, and the hub fed untrusted messages from both sides. Built as a fuzzer with
// -DMCPVM_FUZZ=ON (clang); mcp_fuzz_corpus_test.cpp runs the same entry point under g++.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mcp/hub.h"
#include "mcp/jsonrpc.h"
#include "mcp/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcpvm::mcp;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  ParsedBody body = parse_body(input);
  if (!body.ok && body.error.is_null()) __builtin_trap();

  SseParser whole(1 << 16), split(1 << 16);
  auto a = whole.feed(input);
  auto b = split.feed(input.substr(0, size / 2));
  auto c = split.feed(input.substr(size / 2));
  if (!whole.failed() && !split.failed() && a.size() != b.size() + c.size()) __builtin_trap();

  (void)parse_accept(input);
  (void)origin_allowed(input, {});
  (void)check_protocol_version_header(input);

  // The hub must survive any valid-looking message from a client and from the server.
  Hub hub(HubOptions{}, [](const json&) {});
  auto session = hub.create_session(SessionKind::streamable_http);
  for (json& m : body.messages) {
    hub.from_client(*session, hub.standalone_stream(*session), m);
    hub.from_upstream(m);
  }
  hub.tick(Hub::Clock::now());
  return 0;
}
