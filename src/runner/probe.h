// Readiness probes (from the seed): a stdio server is ready when it answers an MCP `initialize` sent
// through our own endpoint (so the URL we print is proven to work end to end); an HTTP server when its
// port answers any HTTP response. Callers retry them with util/backoff.h until a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mcpvm::runner {

// One attempt: POSTs an MCP initialize to http://127.0.0.1:PORT/PATH; true when a JSON-RPC result came
// back (plain JSON or an SSE event). `detail` receives what was wrong otherwise.
bool probe_mcp_initialize(uint16_t port, const std::string& path, std::chrono::milliseconds timeout,
                          std::string& detail);

// One attempt: true when 127.0.0.1:PORT answers an HTTP request with any status line.
bool probe_http(uint16_t port, std::chrono::milliseconds timeout, std::string& detail);

// "60", "60s", "2m", "1h" -> seconds (1 s .. 24 h). Throws Error with the accepted forms.
std::chrono::seconds parse_duration(std::string_view text);

}  // namespace mcpvm::runner
