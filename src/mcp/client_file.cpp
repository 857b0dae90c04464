#include "mcp/client_file.h"

#include "mcp/jsonc_edit.h"
#include "mcp/toml_edit.h"
#include "mcp/yaml_edit.h"

namespace mcpvm::mcp {

namespace {

// Where the TOML and YAML clients keep their servers (the JSON clients' key comes from json_entry).
constexpr std::string_view kCodexTable = "mcp_servers";
constexpr std::string_view kGooseMapping = "extensions";

}  // namespace

std::string client_file_with_server(const McpClient& client, std::string_view text,
                                    const ServerEntry& server) {
  switch (client.format) {
    case ClientFileFormat::jsonc: {
      JsonEntry e = *json_entry(client, server);
      return jsonc_set_member(text, e.top_key, server.name, e.entry);
    }
    case ClientFileFormat::toml:
      return toml_set_table(text, kCodexTable, server.name, render_client_config(client, server));
    case ClientFileFormat::yaml:
      return yaml_set_entry(text, kGooseMapping, server.name, render_client_config(client, server));
  }
  return std::string(text);
}

std::string client_file_without_server(const McpClient& client, std::string_view text,
                                       std::string_view name) {
  switch (client.format) {
    case ClientFileFormat::jsonc: {
      ServerEntry placeholder{std::string(name), "", "", ""};
      return jsonc_remove_member(text, json_entry(client, placeholder)->top_key, name);
    }
    case ClientFileFormat::toml:
      return toml_remove_table(text, kCodexTable, name);
    case ClientFileFormat::yaml:
      return yaml_remove_entry(text, kGooseMapping, name);
  }
  return std::string(text);
}

}  // namespace mcpvm::mcp
