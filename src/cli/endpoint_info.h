// How `ls` and `inspect` describe a VM's MCP endpoint: the server's transport (from config.json) and the
// URLs our endpoint serves for it (state.json holds the /mcp one; /sse is on the same port).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "mcp/endpoint_url.h"
#include "runner/state.h"

namespace mcpvm::cli {

struct EndpointInfo {
  std::string transport = "stdio";  // the server's own transport in the guest
  int target_port = 0;              // HTTP servers: their port in the guest
  std::string auth = "bearer";      // "bearer": clients need the VM's token (runner/endpoint_token.h)
  std::string streamable_http;      // http://127.0.0.1:PORT/mcp
  std::string sse;                  // http://127.0.0.1:PORT/sse
};

inline EndpointInfo endpoint_info(const runner::VmDir& dir, const std::string& endpoint_url) {
  EndpointInfo info;
  try {
    const runner::McpConfig mcp = dir.load_config().mcp;
    info.transport = to_string(mcp.transport);
    info.target_port = mcp.target_port;
    info.auth = to_string(mcp.auth);
  } catch (const std::exception&) {  // an unreadable config.json is reported elsewhere
  }
  info.streamable_http = endpoint_url;
  if (auto url = mcp::parse_endpoint_url(endpoint_url)) info.sse = url->sse();
  return info;
}

inline nlohmann::json to_json(const EndpointInfo& info) {
  nlohmann::json j = {{"transport", info.transport},
                      {"streamable_http", info.streamable_http},
                      {"sse", info.sse},
                      {"auth", info.auth}};
  if (info.target_port) j["target_port"] = info.target_port;
  return j;
}

}  // namespace mcpvm::cli
