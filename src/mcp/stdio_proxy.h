// A stdio front for an MCP HTTP endpoint: reads newline-delimited JSON-RPC on stdin, forwards it as one
// MCP client session to the URL, writes what comes back to stdout. For MCP clients that can only
// spawn processes (`mcpvm proxy stdio URL`).
#pragma once

#include <string>

namespace mcpvm::mcp {

struct StdioProxyOptions {
  std::string url;           // http://127.0.0.1:PORT/mcp (streamable HTTP) or .../sse (legacy SSE)
  std::string bearer_token;  // sent on every request when set (a VM endpoint's token)
  bool legacy_sse = false;   // speak the legacy SSE transport (default: from the URL's path, /sse)
  int in_fd = 0;
  int out_fd = 1;
};

// Runs until stdin ends (and the answers in flight were written) or the endpoint goes away.
// Returns the exit code: 0 after stdin ended, 1 when the endpoint failed.
int run_stdio_proxy(const StdioProxyOptions& options);

}  // namespace mcpvm::mcp
