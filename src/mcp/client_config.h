// How each MCP client wants a server described in its own configuration file, so that `mcpvm client
// config NAME --for CLIENT` prints exactly what that client reads. Pure functions: the VM's name, URL
// and endpoint token in, the snippet to merge into the client's file out.
//
// Clients that take HTTP servers with headers get the URL and "Authorization: Bearer TOKEN". Clients that
// only spawn processes (Claude Desktop), and Codex (whose file takes no inline bearer token), get
// `mcpvm proxy stdio NAME`, which reads the token from the VM's directory: it is never copied.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/jsonrpc.h"

namespace mcpvm::mcp {

enum class ClientFileFormat { jsonc, toml, yaml };  // JSON with comments, TOML, YAML

struct McpClient {
  std::string_view id;           // what --for takes
  std::string_view title;        // for people
  std::string_view config_path;  // relative to $HOME
  ClientFileFormat format;
};

// Every supported client, in the order `mcpvm client ls` shows them.
const std::vector<McpClient>& mcp_clients();
// nullptr for an unknown id.
const McpClient* find_mcp_client(std::string_view id);

struct ServerEntry {
  std::string name;   // the VM's name (its entry's key)
  std::string url;    // http://127.0.0.1:PORT/mcp
  std::string token;  // empty: the endpoint takes no credential (--endpoint-auth none)
  std::string mcpvm;  // the mcpvm executable, for clients that spawn `mcpvm proxy stdio NAME`
};

// For clients whose file is JSON: the top-level key ("mcpServers", "servers", "context_servers") and the
// server's entry under it (keyed by the VM's name). nullopt for TOML and YAML clients.
struct JsonEntry {
  std::string top_key;
  json entry;
};
std::optional<JsonEntry> json_entry(const McpClient& client, const ServerEntry& server);

// The fragment of the client's configuration file that declares the server (a whole JSON document with
// the client's top-level key, a TOML table, or a YAML mapping), ending with a newline.
std::string render_client_config(const McpClient& client, const ServerEntry& server);

}  // namespace mcpvm::mcp
