// ToolHive's legacy registry.json (https://github.com/stacklok/toolhive, pkg/registry):
//
//   {"version": "...", "servers": {"NAME": {"image": "ghcr.io/x/y:1", "description": "...",
//     "transport": "stdio|sse|streamable-http", "target_port": 8080, "args": [...], "tools": [...],
//     "tags": [...], "repository_url": "...", "status": "Active",
//     "env_vars": [{"name": "...", "description": "...", "required": true, "secret": true, "default":
//     "..."}], "permissions": {"network": {"outbound": {"allow_host": [...], "allow_port": [...]}}, "read":
//     [...]}}},
//    "remote_servers": {...}}
//
// remote_servers are skipped (nothing to run in a VM).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "registry/catalog.h"

namespace mcpvm::registry {

// One server of the "servers" map, under its key.
RegistryEntry parse_toolhive_server(const std::string& name, const nlohmann::json& server,
                                    const std::string& path);

// The whole document (an object with a "servers" object).
Catalog parse_toolhive_registry(const nlohmann::json& document);

}  // namespace mcpvm::registry
