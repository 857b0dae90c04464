// Adding a server to, and removing it from, the text of an MCP client's own configuration file, whatever
// its format (JSON with comments, TOML, YAML). Only the server's own entry changes: the user's other
// entries, comments and layout keep every byte (mcp/jsonc_edit.h, toml_edit.h, yaml_edit.h). Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "mcp/client_config.h"

namespace mcpvm::mcp {

// The file's text with the server's entry added, or replaced when one of that name exists. Throws Error
// (naming what is wrong) when the text cannot be parsed or the entry cannot be edited in place.
std::string client_file_with_server(const McpClient& client, std::string_view text,
                                    const ServerEntry& server);

// The file's text without the entry named `name`; unchanged when there is none. Throws Error as above.
std::string client_file_without_server(const McpClient& client, std::string_view text, std::string_view name);

}  // namespace mcpvm::mcp
