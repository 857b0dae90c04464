// Readiness probes (from the seed): a stdio server is ready when it answers an MCP `initialize` sent
// through our own endpoint (so the URL we print is proven to work end to end); an HTTP server when its
// port in the guest answers any HTTP response. Callers retry them with util/backoff.h until a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace mcpvm::runner {

// One attempt: POSTs an MCP initialize to http://127.0.0.1:PORT/PATH (with the endpoint's bearer token
// when it has one); true when a JSON-RPC result came back (plain JSON or an SSE event). `detail` receives
// what was wrong otherwise.
bool probe_mcp_initialize(uint16_t port, const std::string& path, const std::string& bearer_token,
                          std::chrono::milliseconds timeout, std::string& detail);

// One attempt: true when the HTTP server behind the Unix socket (the runner's forward to the guest's
// port) answers a request with any status line.
bool probe_http(const std::filesystem::path& socket, std::chrono::milliseconds timeout, std::string& detail);

// "60", "60s", "2m", "1h" -> seconds (1 s .. 24 h). Throws Error with the accepted forms.
std::chrono::seconds parse_duration(std::string_view text);

}  // namespace mcpvm::runner
