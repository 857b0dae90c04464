// The bearer token of a VM's MCP endpoint (mcp/bearer_auth.h): made by the runner the first time it
// serves the VM, kept in the VM's 0700 directory as a 0600 file (VmDir::endpoint_token_file), and the
// same for the VM's whole life, so a client configured once keeps working across restarts. The CLI reads
// it for `inspect`, `proxy stdio NAME` and client configuration. Removing the file (with the VM stopped)
// rotates it.
#pragma once

#include <optional>
#include <string>

#include "runner/state.h"

namespace mcpvm::runner {

// The runner, before each boot: the VM's token, created (256 random bits) when the file is missing or
// does not hold a token. Throws Error when it can be neither read nor written.
std::string load_or_create_endpoint_token(const VmDir& dir);

// The token when the VM has one (nullopt: the VM never ran with authentication, or runs with
// --endpoint-auth none). Throws Error when the file exists but cannot be read or is not a token.
std::optional<std::string> read_endpoint_token(const VmDir& dir);

}  // namespace mcpvm::runner
