// Writing a server into, and taking it out of, Codex's TOML and Goose's YAML files: only the entry's
// bytes change, round trips give the original file back, and what cannot be edited safely is refused.
#include <gtest/gtest.h>

#include "mcp/client_file.h"
#include "mcp/toml_edit.h"
#include "mcp/yaml_edit.h"
#include "util/error.h"

namespace mcpvm::mcp {
namespace {

const McpClient& client(std::string_view id) {
  return *find_mcp_client(id);
}

ServerEntry server(std::string name = "fetch") {
  return {std::move(name), "http://127.0.0.1:41000/mcp", "tok123", "/usr/local/bin/mcpvm"};
}

// A Codex config as people keep it: comments, other servers with sub-tables, a multi-line string whose
// lines look like table headers, and a multi-line array.
constexpr std::string_view kCodex = R"(# my codex settings
model = "o4-mini"   # keep

[mcp_servers.github]
command = "npx"
args = [
  "-y",
  "@modelcontextprotocol/server-github",
]

[mcp_servers.github.env]
GITHUB_TOKEN_FILE = "~/.gh"

# the next table is about the shell
[shell_environment_policy]
note = """
[mcp_servers.fetch]
command = "not a header"
"""
)";

TEST(CodexToml, AddsTheTableAtTheEndAndKeepsEveryOtherByte) {
  std::string out = client_file_with_server(client("codex"), kCodex, server());
  ASSERT_EQ(out.substr(0, kCodex.size()), kCodex);
  EXPECT_EQ(out.substr(kCodex.size()),
            "\n[mcp_servers.\"fetch\"]\ncommand = \"/usr/local/bin/mcpvm\"\nargs = [\"proxy\", \"stdio\", "
            "\"fetch\"]\n");
}

TEST(CodexToml, RoundTripGivesTheFileBack) {
  std::string added = client_file_with_server(client("codex"), kCodex, server());
  std::string removed = client_file_without_server(client("codex"), added, "fetch");
  EXPECT_EQ(removed, std::string(kCodex) + "\n");  // only the separating blank line stays
}

TEST(CodexToml, SettingTwiceIsIdempotentAndReplacesInPlace) {
  std::string once = client_file_with_server(client("codex"), kCodex, server());
  EXPECT_EQ(client_file_with_server(client("codex"), once, server()), once);
  ServerEntry moved = server();
  moved.mcpvm = "/opt/mcpvm";
  std::string twice = client_file_with_server(client("codex"), once, moved);
  EXPECT_NE(twice.find("command = \"/opt/mcpvm\""), std::string::npos);
  EXPECT_EQ(twice.find("/usr/local/bin/mcpvm"), std::string::npos);
}

TEST(CodexToml, ReplacesAnEntryWithItsSubTablesAndLeavesTheNextTablesComment) {
  std::string text = std::string(kCodex);
  std::string out = toml_set_table(text, "mcp_servers", "github", "[mcp_servers.github]\ncommand = \"gh\"\n");
  EXPECT_EQ(out.find("GITHUB_TOKEN_FILE"), std::string::npos);
  EXPECT_NE(out.find("[mcp_servers.github]\ncommand = \"gh\"\n\n# the next table is about the shell\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("note = \"\"\"\n[mcp_servers.fetch]"), std::string::npos);
}

TEST(CodexToml, RemovingAnAbsentEntryChangesNothing) {
  EXPECT_EQ(client_file_without_server(client("codex"), kCodex, "nope"), kCodex);
  EXPECT_EQ(client_file_with_server(client("codex"), "", server()),
            "[mcp_servers.\"fetch\"]\ncommand = \"/usr/local/bin/mcpvm\"\nargs = [\"proxy\", \"stdio\", "
            "\"fetch\"]\n");
}

TEST(CodexToml, RefusesWhatItCannotParseOrEditInPlace) {
  EXPECT_THROW(client_file_with_server(client("codex"), "model = \n[broken", server()), Error);
  // An inline table: replacing it line-wise would be wrong, so the edit is refused.
  constexpr std::string_view inline_table = "[mcp_servers]\nfetch = { command = \"x\" }\n";
  try {
    client_file_with_server(client("codex"), inline_table, server());
    FAIL() << "an inline-table entry was edited";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("change it by hand"), std::string::npos) << e.what();
  }
  EXPECT_THROW(client_file_without_server(client("codex"), inline_table, "fetch"), Error);
  EXPECT_THROW(client_file_with_server(client("codex"), "mcp_servers = 3\n", server()), Error);
}

TEST(CodexToml, ANameThatNeedsQuotingIsQuoted) {
  std::string out = client_file_with_server(client("codex"), "", server("my.vm"));
  EXPECT_NE(out.find("[mcp_servers.\"my.vm\"]"), std::string::npos);
  EXPECT_EQ(client_file_without_server(client("codex"), out, "my.vm"), "");
}

constexpr std::string_view kGoose = R"(# goose config
GOOSE_PROVIDER: openai
extensions:
    # built-in tools
    developer:
        enabled: true
        name: developer
        type: builtin
        description: |
          Multi-line text
          fetch:
            looks like a key
    memory:
        enabled: false
        type: stdio
GOOSE_MODEL: gpt-4o   # trailing
)";

TEST(GooseYaml, AddsTheEntryAtTheFilesOwnIndentAndKeepsEveryOtherByte) {
  std::string out = client_file_with_server(client("goose"), kGoose, server());
  std::string entry =
      "    \"fetch\":\n        name: \"fetch\"\n        type: streamable_http\n        uri: "
      "\"http://127.0.0.1:41000/mcp\"\n        enabled: true\n        timeout: 300\n        headers:\n"
      "            Authorization: \"Bearer tok123\"\n";
  std::string expected(kGoose);
  expected.insert(expected.find("GOOSE_MODEL"), entry);
  EXPECT_EQ(out, expected);
}

TEST(GooseYaml, RoundTripGivesTheFileBackAndSetIsIdempotent) {
  std::string added = client_file_with_server(client("goose"), kGoose, server());
  EXPECT_EQ(client_file_with_server(client("goose"), added, server()), added);
  EXPECT_EQ(client_file_without_server(client("goose"), added, "fetch"), kGoose);
}

TEST(GooseYaml, ReplacesAnExistingEntryWithItsDeeperLines) {
  std::string out =
      yaml_set_entry(kGoose, "extensions", "developer", "extensions:\n  developer:\n    enabled: false\n");
  EXPECT_EQ(out.find("Multi-line text"), std::string::npos);
  EXPECT_NE(out.find("    developer:\n        enabled: false\n    memory:\n"), std::string::npos) << out;
}

TEST(GooseYaml, CreatesTheMappingOrFillsAnEmptyOne) {
  EXPECT_EQ(yaml_set_entry("a: 1", "extensions", "x", "extensions:\n  x:\n    k: v\n"),
            "a: 1\nextensions:\n  x:\n    k: v\n");
  EXPECT_EQ(yaml_set_entry("extensions: {}\nb: 2\n", "extensions", "x", "extensions:\n  x:\n    k: v\n"),
            "extensions:\n  x:\n    k: v\nb: 2\n");
  EXPECT_EQ(yaml_set_entry("", "extensions", "x", "extensions:\n  x:\n    k: v\n"),
            "extensions:\n  x:\n    k: v\n");
}

TEST(GooseYaml, RefusesWhatItCannotParseOrEditInPlace) {
  EXPECT_THROW(client_file_with_server(client("goose"), "a: [1,\n", server()), Error);
  EXPECT_THROW(client_file_with_server(client("goose"), "a: 1\n---\nb: 2\n", server()), Error);
  EXPECT_THROW(client_file_with_server(client("goose"), "- a\n- b\n", server()), Error);
  EXPECT_THROW(client_file_with_server(client("goose"), "extensions: {other: {k: v}}\n", server()), Error);
  EXPECT_THROW(client_file_with_server(client("goose"), "extensions: 3\n", server()), Error);
}

TEST(GooseYaml, RemovingAnAbsentEntryChangesNothing) {
  EXPECT_EQ(client_file_without_server(client("goose"), kGoose, "nope"), kGoose);
  EXPECT_EQ(client_file_without_server(client("goose"), "", "nope"), "");
}

}  // namespace
}  // namespace mcpvm::mcp
