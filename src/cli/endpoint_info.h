// How `ls` and `inspect` describe a VM's MCP endpoint: the server's transport (from config.json) and the
// URLs our endpoint serves for it (state.json holds the /mcp one; /sse is on the same port).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "runner/state.h"

namespace mcpvm::cli {

struct EndpointInfo {
  std::string transport = "stdio";  // the server's own transport in the guest
  int target_port = 0;              // HTTP servers: their port in the guest
  std::string streamable_http;      // http://127.0.0.1:PORT/mcp
  std::string sse;                  // http://127.0.0.1:PORT/sse
};

inline EndpointInfo endpoint_info(const runner::VmDir& dir, const std::string& endpoint_url) {
  EndpointInfo info;
  try {
    const auto& vm = dir.load_config().vm;
    info.transport = vm.value("transport", std::string("stdio"));
    info.target_port = vm.value("target_port", 0);
  } catch (const std::exception&) {  // an unreadable config.json is reported elsewhere
  }
  info.streamable_http = endpoint_url;
  const std::string suffix = "/mcp";
  if (endpoint_url.size() > suffix.size() &&
      endpoint_url.compare(endpoint_url.size() - suffix.size(), suffix.size(), suffix) == 0)
    info.sse = endpoint_url.substr(0, endpoint_url.size() - suffix.size()) + "/sse";
  return info;
}

inline nlohmann::json to_json(const EndpointInfo& info) {
  nlohmann::json j = {
      {"transport", info.transport}, {"streamable_http", info.streamable_http}, {"sse", info.sse}};
  if (info.target_port) j["target_port"] = info.target_port;
  return j;
}

}  // namespace mcpvm::cli
