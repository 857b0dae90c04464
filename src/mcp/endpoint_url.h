// The URLs of an mcpvm MCP endpoint: http://HOST:PORT/mcp (streamable HTTP) and http://HOST:PORT/sse
// (legacy SSE) on the same port. Every place that prints, stores or rewrites one goes through here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcpvm::mcp {

struct EndpointUrl {
  std::string host = "127.0.0.1";
  uint16_t port = 0;

  std::string streamable_http() const;  // http://HOST:PORT/mcp
  std::string sse() const;              // http://HOST:PORT/sse
};

// Parses "http://HOST:PORT/mcp" or "http://HOST:PORT/sse" (as state.json stores it); nullopt otherwise.
std::optional<EndpointUrl> parse_endpoint_url(std::string_view url);

}  // namespace mcpvm::mcp
