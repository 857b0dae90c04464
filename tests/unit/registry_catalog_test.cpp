// Registry documents of every format mcpvm reads, as tables of hostile and ordinary inputs.
#include <gtest/gtest.h>

#include <string>

#include "registry/catalog.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::registry {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A server.json in the shape the MCP registry publishes (schema 2025-12-11) with ToolHive's extension.
json github_server_json() {
  return json::parse(R"({
    "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
    "name": "io.github.github/github-mcp-server",
    "title": "GitHub",
    "description": "GitHub's official MCP server",
    "version": "0.20.1",
    "repository": {"url": "https://github.com/github/github-mcp-server", "source": "github"},
    "icons": [{"src": "https://example.invalid/i.svg", "mimeType": "image/svg+xml"}],
    "packages": [
      {"registryType": "npm", "identifier": "@x/y", "version": "1.0.0", "transport": {"type": "stdio"}},
      {"registryType": "oci", "identifier": "ghcr.io/github/github-mcp-server:0.20.1",
       "transport": {"type": "stdio"},
       "packageArguments": [{"type": "positional", "value": "stdio"},
                            {"type": "named", "name": "--toolsets", "value": "repos"},
                            {"type": "positional", "valueHint": "extra", "isRequired": false}],
       "environmentVariables": [
         {"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "description": "A token", "isRequired": true, "isSecret": true},
         {"name": "GITHUB_HOST", "description": "Enterprise host", "default": "github.com", "format": "string"}],
       "futureField": {"anything": [1, 2, 3]}}
    ],
    "_meta": {
      "io.modelcontextprotocol.registry/publisher-provided": {
        "io.github.stacklok": {
          "ghcr.io/github/github-mcp-server:0.20.1": {
            "tier": "Official", "status": "Active", "tags": ["github", "git"],
            "tools": ["create_issue", "get_file_contents"],
            "permissions": {"network": {"outbound": {"allow_host": [".github.com", "api.githubcopilot.com"],
                                                     "allow_port": [443]}}},
            "provenance": {"sigstore_url": "tuf-repo-cdn.sigstore.dev"}
          }
        }
      },
      "io.modelcontextprotocol.registry/official": {"status": "active", "isLatest": true}
    }
  })");
}

TEST(ServerJson, TheFieldsAndToolHivesExtensionBecomeOneEntry) {
  Catalog c = parse_registry_document(github_server_json().dump(), "server.json");
  ASSERT_EQ(c.entries.size(), 1u) << (c.skipped.empty() ? "" : c.skipped[0].reason);
  const RegistryEntry& e = c.entries[0];
  EXPECT_EQ(e.name, "io.github.github/github-mcp-server");
  EXPECT_EQ(e.short_name(), "github-mcp-server");
  EXPECT_EQ(e.title, "GitHub");
  EXPECT_EQ(e.image, "ghcr.io/github/github-mcp-server:0.20.1");
  EXPECT_EQ(e.transport, "stdio");
  EXPECT_EQ(e.target_port, 0);
  EXPECT_EQ(e.args, (std::vector<std::string>{"stdio", "--toolsets", "repos"}));
  ASSERT_EQ(e.env.size(), 2u);
  EXPECT_TRUE(e.env[0].required && e.env[0].secret);
  EXPECT_EQ(e.env[1].default_value, "github.com");
  EXPECT_FALSE(e.env[1].secret);
  EXPECT_EQ(e.tools, (std::vector<std::string>{"create_issue", "get_file_contents"}));
  EXPECT_EQ(e.status, "Active");
  ASSERT_TRUE(e.permissions);
  // ToolHive's ".github.com" (the domain and below) in net/policy.h's spelling.
  EXPECT_EQ((*e.permissions)["network"]["outbound"]["allow_host"],
            json::parse(R"(["github.com", "*.github.com", "api.githubcopilot.com"])"));
  EXPECT_EQ(e.repository_url, "https://github.com/github/github-mcp-server");
}

TEST(ServerJson, HttpTransportTakesItsPortFromTheUrlAndTheExtensionWins) {
  json s = github_server_json();
  auto& pkg = s["packages"][1];
  pkg["transport"] = {{"type", "streamable-http"}, {"url", "http://localhost:9000/mcp"}};
  Catalog c = parse_registry_document(s.dump(), "x");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].transport, "streamable-http");
  EXPECT_EQ(c.entries[0].target_port, 9000);
  s["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]
   ["ghcr.io/github/github-mcp-server:0.20.1"]["target_port"] = 8081;
  s["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]
   ["ghcr.io/github/github-mcp-server:0.20.1"]["args"] = {"--http"};
  c = parse_registry_document(s.dump(), "x");
  EXPECT_EQ(c.entries[0].target_port, 8081);
  EXPECT_EQ(c.entries[0].args, (std::vector<std::string>{"--http"}));
  pkg["transport"]["url"] = "http://localhost:{port}/mcp";  // a template: no port from the URL
  s["_meta"].erase("io.modelcontextprotocol.registry/publisher-provided");
  c = parse_registry_document(s.dump(), "x");
  EXPECT_EQ(c.entries[0].target_port, 0);
}

TEST(ServerJson, OlderSchemasGiveTheTagInVersion) {
  json s = {{"name", "io.example/old"},
            {"packages", {{{"registryType", "oci"}, {"identifier", "example/old"}, {"version", "1.2"}}}}};
  Catalog c = parse_registry_document(s.dump(), "x");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].image, "example/old:1.2");
  EXPECT_EQ(c.entries[0].transport, "stdio");  // missing optional fields: their defaults
  EXPECT_FALSE(c.entries[0].permissions);
}

TEST(ServerJson, ServersThatAreNotImagesAreSkippedWithTheReason) {
  json list = json::array();
  list.push_back(
      {{"name", "io.example/npm-only"}, {"packages", {{{"registryType", "npm"}, {"identifier", "@x/y"}}}}});
  list.push_back(
      {{"name", "io.example/remote"}, {"remotes", {{{"type", "streamable-http"}, {"url", "https://x"}}}}});
  list.push_back(github_server_json());
  Catalog c = parse_registry_document(list.dump(), "x");
  ASSERT_EQ(c.entries.size(), 1u);
  ASSERT_EQ(c.skipped.size(), 2u);
  EXPECT_NE(c.skipped[0].reason.find("no OCI image (npm package only)"), std::string::npos)
      << c.skipped[0].reason;
  EXPECT_NE(c.skipped[1].reason.find("a remote server"), std::string::npos);
  EXPECT_TRUE(c.find_skipped("npm-only"));
  EXPECT_TRUE(c.find("github-mcp-server"));
}

TEST(ServerJson, WrongTypesAndHostileValuesSkipTheEntryNamingTheField) {
  struct Case {
    const char* what;
    std::function<void(json&)> change;
    const char* message;
  };
  std::vector<Case> cases = {
      {"description a number", [](json& s) { s["description"] = 3; },
       "description: expected a string, got number"},
      {"name traversal", [](json& s) { s["name"] = "../../etc/passwd"; }, "server name \"../../etc/passwd\""},
      {"name with two slashes", [](json& s) { s["name"] = "a/b/c"; }, "at most one '/'"},
      {"name dot part", [](json& s) { s["name"] = "io.x/.."; }, "\"..\" is not a name"},
      {"name with a space", [](json& s) { s["name"] = "io.x/a b"; }, "\" \" is not allowed"},
      {"name too long", [](json& s) { s["name"] = std::string(300, 'a'); }, "expected 1-200 characters"},
      {"packages an object", [](json& s) { s["packages"] = json::object(); }, "packages: expected a list"},
      {"identifier not a reference", [](json& s) { s["packages"][1]["identifier"] = "UPPER/Case:1"; },
       "packages[1].identifier"},
      {"env name injection", [](json& s) { s["packages"][1]["environmentVariables"][0]["name"] = "A=B;rm"; },
       "is not an environment variable name"},
      {"isSecret a string", [](json& s) { s["packages"][1]["environmentVariables"][0]["isSecret"] = "yes"; },
       "isSecret: expected true or false"},
      {"unknown transport", [](json& s) { s["packages"][1]["transport"]["type"] = "carrier-pigeon"; },
       "transport \"carrier-pigeon\""},
      {"permissions with an unknown restriction",
       [](json& s) {
         s["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]
          ["ghcr.io/github/github-mcp-server:0.20.1"]["permissions"]["network"]["inbound"] = json::object();
       },
       "network: unknown field \"inbound\""},
      {"permissions allowing every host",
       [](json& s) {
         s["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]
          ["ghcr.io/github/github-mcp-server:0.20.1"]["permissions"]["network"]["outbound"]["allow_host"] = {
              "*"};
       },
       "allowed host \"*\""},
      {"target_port out of range",
       [](json& s) {
         s["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]
          ["ghcr.io/github/github-mcp-server:0.20.1"]["target_port"] = 70000;
       },
       "target_port: expected an integer from 1 to 65535, got 70000"},
  };
  for (const auto& c : cases) {
    json s = github_server_json();
    c.change(s);
    Catalog catalog = parse_registry_document(s.dump(), "x");
    ASSERT_EQ(catalog.entries.size(), 0u) << c.what;
    ASSERT_EQ(catalog.skipped.size(), 1u) << c.what;
    EXPECT_NE(catalog.skipped[0].reason.find(c.message), std::string::npos)
        << c.what << ": " << catalog.skipped[0].reason;
  }
}

TEST(ApiResponses, ListsSingleVersionsAndCursors) {
  json list = {{"servers", {{{"server", github_server_json()}, {"_meta", {{"x", 1}}}}}},
               {"metadata", {{"nextCursor", "abc"}, {"count", 1}}}};
  Catalog c = parse_registry_document(list.dump(), "api");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.next_cursor, "abc");
  json one = {{"server", github_server_json()}, {"_meta", json::object()}};
  c = parse_registry_document(one.dump(), "api");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.next_cursor, "");
  json wrapped = {{"version", "1.0.0"}, {"data", {{"servers", {github_server_json()}}}}};
  EXPECT_EQ(parse_registry_document(wrapped.dump(), "x").entries.size(), 1u);
}

json toolhive_registry() {
  return json::parse(R"({
    "$schema": "https://example.invalid/schema.json",
    "version": "1.0.0",
    "last_updated": "2025-11-01T00:00:00Z",
    "servers": {
      "fetch": {
        "description": "Fetches a URL", "tier": "Community", "status": "Active", "transport": "streamable-http",
        "tools": ["fetch"], "metadata": {"stars": 10}, "image": "ghcr.io/stackloklabs/gofetch/server:1.0.1",
        "target_port": 8080, "tags": ["web"],
        "permissions": {"name": "network", "network": {"outbound": {"insecure_allow_all": true, "allow_port": []}}},
        "provenance": {"cert_issuer": "x"}
      },
      "github": {
        "description": "GitHub", "image": "ghcr.io/github/github-mcp-server:v0.1", "transport": "stdio",
        "env_vars": [{"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "description": "token", "required": true, "secret": true},
                     {"name": "GITHUB_TOOLSETS", "required": false, "default": ""}],
        "args": ["stdio"],
        "permissions": {"read": ["/data"], "network": {"outbound": {"allow_host": ["api.github.com"], "allow_port": [443]}}}
      },
      "broken": {"description": ["not", "a", "string"], "image": "x/y:1"},
      "noimage": {"description": "nothing to run"},
      "..": {"image": "x/y:1"}
    },
    "remote_servers": {"far": {"url": "https://far.invalid/mcp"}}
  })");
}

TEST(ToolHiveRegistry, EntriesWithTheirPermissionsAndEnv) {
  Catalog c = parse_registry_document(toolhive_registry().dump(), "registry.json");
  ASSERT_EQ(c.entries.size(), 2u);
  const RegistryEntry* fetch = c.find("fetch");
  ASSERT_TRUE(fetch);
  EXPECT_EQ(fetch->transport, "streamable-http");
  EXPECT_EQ(fetch->target_port, 8080);
  EXPECT_EQ((*fetch->permissions)["network"]["outbound"]["insecure_allow_all"], true);
  EXPECT_FALSE(fetch->permissions->contains("name"));
  const RegistryEntry* github = c.find("github");
  ASSERT_TRUE(github);
  EXPECT_EQ(github->args, (std::vector<std::string>{"stdio"}));
  ASSERT_EQ(github->env.size(), 2u);
  EXPECT_TRUE(github->env[0].secret && github->env[0].required);
  EXPECT_FALSE(github->env[1].default_value);  // ToolHive's "" means none
  EXPECT_EQ((*github->permissions)["read"], json::array({"/data"}));
  // broken, noimage, ".." and the remote server: skipped, each with its reason.
  ASSERT_EQ(c.skipped.size(), 4u);
  EXPECT_NE(c.find_skipped("broken")->reason.find("servers.broken.description: expected a string"),
            std::string::npos);
  EXPECT_NE(c.find_skipped("noimage")->reason.find("no image"), std::string::npos);
  EXPECT_NE(c.find_skipped("..")->reason.find("is not a name"), std::string::npos);
  EXPECT_NE(c.find_skipped("far")->reason.find("remote"), std::string::npos);
}

TEST(Documents, WholeDocumentErrorsAreOneLineNamingTheOrigin) {
  EXPECT_EQ(error_of([] { parse_registry_document("{nope", "reg.json"); }), "reg.json: not valid JSON");
  EXPECT_EQ(error_of([] { parse_registry_document(std::string(200, '[') + std::string(200, ']'), "r"); }),
            "r: JSON nested deeper than 128 levels");
  EXPECT_NE(
      error_of([] { parse_registry_document(R"({"servers": 3})", "r"); }).find("servers: expected an object"),
      std::string::npos);
  EXPECT_NE(error_of([] { parse_registry_document(R"({"hello": "world"})", "r"); }).find("r: not a registry"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_registry_document("42", "r"); }).find("expected an object"),
            std::string::npos);
  // Huge: refused by size before any parsing.
  std::string huge = R"({"servers": {"a": {"image": "x/y:1", "description": ")" +
                     std::string(kMaxRegistryBytes, 'x') + "\"}}}";
  EXPECT_NE(error_of([&] {
              parse_registry_document(huge, "big.json");
            }).find("big.json: " + std::to_string(huge.size()) + " bytes: larger than the 16 MiB"),
            std::string::npos);
}

TEST(Catalogs, DuplicatesAndAmbiguousShortNames) {
  json list = json::array({github_server_json(), github_server_json()});
  json other = github_server_json();
  other["name"] = "io.example/github-mcp-server";
  list.push_back(other);
  Catalog c = parse_registry_document(list.dump(), "x");
  EXPECT_EQ(c.entries.size(), 2u);
  ASSERT_EQ(c.skipped.size(), 1u);
  EXPECT_NE(c.skipped[0].reason.find("a second entry"), std::string::npos);
  EXPECT_NE(error_of([&] { c.find("github-mcp-server"); }).find("names several servers"), std::string::npos);
  EXPECT_TRUE(c.find("io.example/github-mcp-server"));
  EXPECT_FALSE(c.find("io.example/nothing"));
}

TEST(Catalogs, SearchMatchesEveryWordInNameDescriptionTagsAndTools) {
  Catalog c = parse_registry_document(toolhive_registry().dump(), "x");
  auto hits = [&](std::vector<std::string> words) {
    std::vector<std::string> names;
    for (const auto& e : c.entries)
      if (matches_words(e, words)) names.push_back(e.name);
    return names;
  };
  EXPECT_EQ(hits({"FETCH"}), std::vector<std::string>{"fetch"});
  EXPECT_EQ(hits({"web", "url"}), std::vector<std::string>{"fetch"});
  EXPECT_EQ(hits({"web", "github"}), std::vector<std::string>{});
  EXPECT_EQ(hits({}).size(), 2u);
}

TEST(ShippedRegistry, TheDemoRegistryParsesWithNothingSkipped) {
  std::string text = read_file(std::string(MCPVM_SOURCE_DIR) + "/demo/registry.json");
  Catalog c = parse_registry_document(text, "demo/registry.json");
  EXPECT_TRUE(c.skipped.empty()) << c.skipped[0].name << ": " << c.skipped[0].reason;
  EXPECT_GE(c.entries.size(), 2u);
}

}  // namespace
}  // namespace mcpvm::registry
