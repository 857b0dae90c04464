// Writing a VM's server into MCP clients' own configuration files (`mcpvm client register`, `run
// --register`) and taking it out again (`client unregister`, `rm`). The file is edited byte-preservingly
// (mcp/client_file.h: JSONC, TOML or YAML): the user's other entries, comments and layout stay. Before each
// change the previous file is kept as FILE.mcpvm-backup (0600); the new one replaces it atomically with its
// mode kept; a file that cannot be parsed is refused and left untouched. Which clients a VM was registered
// with is kept in the VM's directory (clients.json), so `rm` can take the entries out.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mcp/client_config.h"
#include "runner/state.h"

namespace mcpvm::cli {

// $HOME, where the clients keep their files. Throws Error when it is not set.
std::filesystem::path home_dir();

// The client's configuration file under $HOME.
std::filesystem::path client_config_file(const mcp::McpClient& client);

// The entry that declares VM `name` (its URL and token from its state and directory). Throws Error when
// the VM has no endpoint yet.
mcp::ServerEntry server_entry_of(const std::string& name);

// Adds (or updates) the VM's entry in the client's file and records the registration. Throws Error (the
// file untouched) when the client's file cannot be parsed, its directory does not exist, or the entry
// carries the VM's token and the file is readable by other users.
void register_with_client(const mcp::McpClient& client, const std::string& vm_name);

// Removes the VM's entry from the client's file (nothing when absent) and forgets the registration.
void unregister_from_client(const mcp::McpClient& client, const std::string& vm_name);

// The clients the VM was registered with (from its clients.json).
std::vector<const mcp::McpClient*> registered_clients(const runner::VmDir& dir);

// After a new runner started the VM (a new token, maybe a new URL): rewrites the entry in every client
// the VM is registered with. A client that cannot be updated is named in a warning on stderr.
void refresh_registered_clients(const std::string& vm_name);

}  // namespace mcpvm::cli
