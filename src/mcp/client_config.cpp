#include "mcp/client_config.h"

#include <fmt/format.h>

#include "mcp/jsonrpc.h"

namespace mcpvm::mcp {

namespace {

// How a client names the HTTP server entry; `proxy`: the client gets `mcpvm proxy stdio NAME` instead.
struct JsonShape {
  std::string_view top_key;  // "mcpServers", "servers", "context_servers"
  std::string_view url_key;  // "url", "serverUrl", "httpUrl"
  std::string_view type;     // a "type" value the client needs, or ""
  bool proxy = false;
};

JsonShape json_shape(std::string_view id) {
  if (id == "claude-code") return {"mcpServers", "url", "http"};
  if (id == "vscode") return {"servers", "url", "http"};
  if (id == "windsurf") return {"mcpServers", "serverUrl", ""};
  if (id == "gemini-cli") return {"mcpServers", "httpUrl", ""};
  if (id == "zed") return {"context_servers", "url", ""};
  if (id == "claude-desktop") return {"mcpServers", "", "", true};
  return {"mcpServers", "url", ""};  // cursor
}

json proxy_command(const ServerEntry& s) {
  return {{"command", s.mcpvm}, {"args", {"proxy", "stdio", s.name}}};
}

std::string render_json(const McpClient& client, const ServerEntry& s) {
  JsonEntry e = *json_entry(client, s);
  return json{{e.top_key, {{s.name, e.entry}}}}.dump(2) + "\n";
}

// A double-quoted string as TOML basic strings and YAML double-quoted scalars both read it.
std::string double_quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\')
      out += '\\', out += char(c);
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\u{:04X}", c);
    else
      out += char(c);
  }
  return out + "\"";
}

// Codex: a stdio entry (its file refuses an inline bearer token; the proxy reads it from the VM's dir).
std::string render_toml(const ServerEntry& s) {
  return fmt::format("[mcp_servers.{}]\ncommand = {}\nargs = [\"proxy\", \"stdio\", {}]\n",
                     double_quoted(s.name), double_quoted(s.mcpvm), double_quoted(s.name));
}

// Goose: an extension of type streamable_http.
std::string render_yaml(const ServerEntry& s) {
  std::string out = fmt::format(
      "extensions:\n  {}:\n    name: {}\n    type: streamable_http\n    uri: {}\n    enabled: true\n    "
      "timeout: 300\n",
      double_quoted(s.name), double_quoted(s.name), double_quoted(s.url));
  if (!s.token.empty())
    out += fmt::format("    headers:\n      Authorization: {}\n", double_quoted("Bearer " + s.token));
  return out;
}

}  // namespace

std::optional<JsonEntry> json_entry(const McpClient& client, const ServerEntry& s) {
  if (client.format != ClientFileFormat::jsonc) return std::nullopt;
  JsonShape shape = json_shape(client.id);
  json entry;
  if (shape.proxy) {
    entry = proxy_command(s);
  } else {
    if (!shape.type.empty()) entry["type"] = shape.type;
    entry[std::string(shape.url_key)] = s.url;
    if (!s.token.empty()) entry["headers"] = {{"Authorization", "Bearer " + s.token}};
  }
  return JsonEntry{std::string(shape.top_key), entry};
}

const std::vector<McpClient>& mcp_clients() {
  using F = ClientFileFormat;
  static const std::vector<McpClient> clients = {
      {"claude-code", "Claude Code", ".claude.json", F::jsonc},
      {"claude-desktop", "Claude Desktop (through mcpvm proxy stdio)",
       ".config/Claude/claude_desktop_config.json", F::jsonc},
      {"cursor", "Cursor", ".cursor/mcp.json", F::jsonc},
      {"vscode", "VS Code", ".config/Code/User/mcp.json", F::jsonc},
      {"windsurf", "Windsurf", ".codeium/windsurf/mcp_config.json", F::jsonc},
      {"gemini-cli", "Gemini CLI", ".gemini/settings.json", F::jsonc},
      {"zed", "Zed", ".config/zed/settings.json", F::jsonc},
      {"codex", "Codex (through mcpvm proxy stdio)", ".codex/config.toml", F::toml},
      {"goose", "Goose", ".config/goose/config.yaml", F::yaml},
  };
  return clients;
}

const McpClient* find_mcp_client(std::string_view id) {
  for (const auto& c : mcp_clients())
    if (c.id == id) return &c;
  return nullptr;
}

std::string render_client_config(const McpClient& client, const ServerEntry& server) {
  switch (client.format) {
    case ClientFileFormat::jsonc:
      return render_json(client, server);
    case ClientFileFormat::toml:
      return render_toml(server);
    case ClientFileFormat::yaml:
      return render_yaml(server);
  }
  return "";
}

}  // namespace mcpvm::mcp
