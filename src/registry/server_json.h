// The MCP registry's server.json (schema 2025-12-11; https://github.com/modelcontextprotocol/registry,
// docs/reference/server-json) as a RegistryEntry, with ToolHive's publisher extension:
//
//   name, title, description, version, repository.url
//   packages[]: the first with registryType "oci" is the image: identifier (with its tag; older documents
//     give the tag in "version"), transport {type, url "http://localhost:PORT/..."}, packageArguments
//     (positional values; named ones as NAME VALUE), environmentVariables [{name, description, isRequired,
//     isSecret, default}]
//   _meta["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"][IDENTIFIER]:
//     permissions (ToolHive's profile), tools, tags, args (replace packageArguments), target_port, status
//
// A server with no OCI package (npm/pypi only, or a remote) is not runnable here: parse_server_json throws
// an Error saying so, which the catalog records as a skipped entry.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "registry/entry.h"

namespace mcpvm::registry {

inline constexpr const char* kPublisherProvided = "io.modelcontextprotocol.registry/publisher-provided";
inline constexpr const char* kToolHivePublisher = "io.github.stacklok";

// server: one server.json object; path: where it sits, for messages.
RegistryEntry parse_server_json(const nlohmann::json& server, const std::string& path);

}  // namespace mcpvm::registry
