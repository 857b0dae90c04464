// mcp/client_config.h: each client gets the keys it reads, with the token where it takes headers and a
// `mcpvm proxy stdio` command where it only spawns processes.
#include <gtest/gtest.h>

#include "mcp/client_config.h"
#include "mcp/jsonrpc.h"

namespace mcpvm::mcp {
namespace {

const ServerEntry kServer{"fetch", "http://127.0.0.1:41234/mcp", std::string(64, 'a'),
                          "/usr/local/bin/mcpvm"};

json rendered(std::string_view id, const ServerEntry& s = kServer) {
  return json::parse(render_client_config(*find_mcp_client(id), s));
}

TEST(ClientConfig, JsonClientsGetTheirKeysAndTheToken) {
  const std::string auth = "Bearer " + kServer.token;
  struct Case {
    std::string_view id, top, url_key, type;
  };
  for (const Case& c :
       {Case{"claude-code", "mcpServers", "url", "http"}, Case{"cursor", "mcpServers", "url", ""},
        Case{"vscode", "servers", "url", "http"}, Case{"windsurf", "mcpServers", "serverUrl", ""},
        Case{"gemini-cli", "mcpServers", "httpUrl", ""}, Case{"zed", "context_servers", "url", ""}}) {
    json j = rendered(c.id);
    ASSERT_TRUE(j.contains(c.top)) << c.id << ": " << j.dump();
    const json& e = j[std::string(c.top)]["fetch"];
    EXPECT_EQ(e[std::string(c.url_key)], kServer.url) << c.id;
    EXPECT_EQ(e["headers"]["Authorization"], auth) << c.id;
    if (!c.type.empty()) {
      EXPECT_EQ(e["type"], c.type) << c.id;
    }
    EXPECT_EQ(j.size(), 1u) << c.id;
  }
}

TEST(ClientConfig, NoTokenNoHeaders) {
  ServerEntry open = kServer;
  open.token.clear();
  EXPECT_FALSE(rendered("cursor", open)["mcpServers"]["fetch"].contains("headers"));
  EXPECT_EQ(render_client_config(*find_mcp_client("goose"), open).find("Authorization"), std::string::npos);
}

TEST(ClientConfig, SpawningClientsGetTheProxyAndNoToken) {
  json j = rendered("claude-desktop");
  EXPECT_EQ(j["mcpServers"]["fetch"]["command"], "/usr/local/bin/mcpvm");
  EXPECT_EQ(j["mcpServers"]["fetch"]["args"], (json{"proxy", "stdio", "fetch"}));
  EXPECT_EQ(j.dump().find(kServer.token), std::string::npos);
  std::string toml = render_client_config(*find_mcp_client("codex"), kServer);
  EXPECT_EQ(toml,
            "[mcp_servers.\"fetch\"]\ncommand = \"/usr/local/bin/mcpvm\"\nargs = [\"proxy\", \"stdio\", "
            "\"fetch\"]\n");
}

TEST(ClientConfig, GooseYamlAndQuoting) {
  std::string yaml = render_client_config(*find_mcp_client("goose"), kServer);
  EXPECT_NE(yaml.find("extensions:\n  \"fetch\":\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("    type: streamable_http\n    uri: \"http://127.0.0.1:41234/mcp\"\n"),
            std::string::npos);
  EXPECT_NE(yaml.find("      Authorization: \"Bearer " + kServer.token + "\"\n"), std::string::npos);
  ServerEntry odd = kServer;
  odd.mcpvm = "/opt/my \"tools\"\\mcpvm";
  EXPECT_NE(
      render_client_config(*find_mcp_client("codex"), odd).find(R"(command = "/opt/my \"tools\"\\mcpvm")"),
      std::string::npos);
}

TEST(ClientConfig, UnknownClient) {
  EXPECT_EQ(find_mcp_client("emacs"), nullptr);
  EXPECT_EQ(mcp_clients().size(), 9u);
}

}  // namespace
}  // namespace mcpvm::mcp
