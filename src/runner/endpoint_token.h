// The bearer token of a VM's MCP endpoint (mcp/bearer_auth.h): made by each runner, kept in the VM's
// 0700 directory as a 0600 file (VmDir::endpoint_token_file) for the CLI (`inspect`, `proxy stdio NAME`,
// client configuration). A runner keeps its token for its whole life, across every boot of the VM (the
// restart policy, `mcpvm restart`), and publishes a new one only after its listener is bound: a token a
// client sent while the port was free (to whoever held it then) is dead by the time the VM serves again
// (SECURITY.md, "Hostile local process or user").
#pragma once

#include <optional>
#include <string>

#include "runner/state.h"

namespace mcpvm::runner {

// The runner, once its listener is bound: writes `token` (mcp::new_bearer_token()) as the VM's token,
// atomically replacing the previous runner's. Throws Error when it cannot.
void publish_endpoint_token(const VmDir& dir, const std::string& token);

// The token when the VM has one (nullopt: the VM never ran with authentication, or runs with
// --endpoint-auth none). Throws Error when the file exists but cannot be read or is not a token.
std::optional<std::string> read_endpoint_token(const VmDir& dir);

}  // namespace mcpvm::runner
