// Byte-preserving edits of JSON-with-comments files (MCP clients' configuration files: ~/.claude.json,
// VS Code's mcp.json, ...): set or remove root[TOP][NAME], changing only the bytes of that member, so the
// user's other entries, comments, order and layout stay exactly as they were. Pure functions.
//
// A document nlohmann cannot read (with comments allowed) is refused, not repaired: the caller leaves the
// file untouched.
#pragma once

#include <string>
#include <string_view>

#include "mcp/jsonrpc.h"

namespace mcpvm::mcp {

// The document with root[top][name] = value (root and top created when missing; an empty document is an
// empty object). Throws Error when the text is not JSON (comments allowed), the root or root[top] is not an
// object, or it nests deeper than kMaxJsonDepth.
std::string jsonc_set_member(std::string_view text, std::string_view top, std::string_view name,
                             const json& value);

// The document without root[top][name]; unchanged when it has no such member. Throws as above.
std::string jsonc_remove_member(std::string_view text, std::string_view top, std::string_view name);

// Whether root[top][name] exists. Throws as above.
bool jsonc_has_member(std::string_view text, std::string_view top, std::string_view name);

}  // namespace mcpvm::mcp
