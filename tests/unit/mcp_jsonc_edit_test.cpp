// mcp/jsonc_edit.h against realistic client files: only the member changes, every other byte stays.
#include <gtest/gtest.h>

#include "mcp/jsonc_edit.h"
#include "util/error.h"

namespace mcpvm::mcp {
namespace {

const json kEntry = {
    {"type", "http"}, {"url", "http://127.0.0.1:41234/mcp"}, {"headers", {{"Authorization", "Bearer t"}}}};

// VS Code's mcp.json as people keep it: comments, another server, inputs.
const std::string kVsCode = R"(// My MCP servers
{
  /* servers I use */
  "servers": {
    "github": {
      "type": "http", // remote
      "url": "https://api.githubcopilot.com/mcp/"
    }
  },
  "inputs": []
}
)";

TEST(JsoncEdit, AddsAServerAndKeepsEveryOtherByte) {
  std::string out = jsonc_set_member(kVsCode, "servers", "fetch", kEntry);
  json doc = json::parse(out, nullptr, true, true);
  EXPECT_EQ(doc["servers"]["fetch"], kEntry);
  EXPECT_EQ(doc["servers"]["github"]["url"], "https://api.githubcopilot.com/mcp/");
  // Everything before the insertion point and after it is the original text.
  size_t at = kVsCode.find("\n    }\n  },") + 6;
  EXPECT_EQ(out.substr(0, at), kVsCode.substr(0, at));
  EXPECT_EQ(out.substr(out.size() - (kVsCode.size() - at)), kVsCode.substr(at));
  EXPECT_NE(out.find("\n    \"fetch\": {\n      \"headers\""), std::string::npos) << out;
}

TEST(JsoncEdit, SetIsIdempotentAndRemoveRestoresTheOriginal) {
  std::string once = jsonc_set_member(kVsCode, "servers", "fetch", kEntry);
  EXPECT_EQ(jsonc_set_member(once, "servers", "fetch", kEntry), once);
  EXPECT_TRUE(jsonc_has_member(once, "servers", "fetch"));
  EXPECT_EQ(jsonc_remove_member(once, "servers", "fetch"), kVsCode);
  EXPECT_EQ(jsonc_remove_member(kVsCode, "servers", "fetch"), kVsCode);  // absent: unchanged
  EXPECT_FALSE(jsonc_has_member(kVsCode, "servers", "fetch"));
}

TEST(JsoncEdit, ReplacesAnExistingEntryInPlace) {
  std::string out = jsonc_set_member(kVsCode, "servers", "github", json{{"url", "http://x"}});
  const json want = {{"url", "http://x"}};
  EXPECT_EQ(json::parse(out, nullptr, true, true)["servers"]["github"], want);
  EXPECT_EQ(out.rfind("// My MCP servers", 0), 0u);
  EXPECT_NE(out.find("\"inputs\": []"), std::string::npos);
}

TEST(JsoncEdit, CreatesTheTopLevelKeyOrTheWholeFile) {
  // ~/.claude.json holds much more than servers.
  const std::string claude = "{\n  \"numStartups\": 12,\n  \"projects\": {\"/home/me\": {\"x\": 1}}\n}\n";
  std::string out = jsonc_set_member(claude, "mcpServers", "fetch", kEntry);
  json doc = json::parse(out);
  EXPECT_EQ(doc["mcpServers"]["fetch"], kEntry);
  EXPECT_EQ(doc["numStartups"], 12);
  EXPECT_EQ(out.substr(0, claude.size() - 3), claude.substr(0, claude.size() - 3));
  EXPECT_EQ(json::parse(jsonc_set_member("", "mcpServers", "fetch", kEntry)),
            json({{"mcpServers", {{"fetch", kEntry}}}}));
  EXPECT_EQ(json::parse(jsonc_set_member("{}", "mcpServers", "fetch", kEntry)),
            json({{"mcpServers", {{"fetch", kEntry}}}}));
  EXPECT_EQ(json::parse(jsonc_set_member("{\"mcpServers\": {}}", "mcpServers", "fetch", kEntry)),
            json({{"mcpServers", {{"fetch", kEntry}}}}));
}

TEST(JsoncEdit, RemovesFirstMiddleLastAndOnlyMembers) {
  const std::string three = R"({"mcpServers": {"a": 1, "b": {"x": [1, 2]}, "c": "z"}, "other": true})";
  for (const char* name : {"a", "b", "c"}) {
    std::string out = jsonc_remove_member(three, "mcpServers", name);
    json doc = json::parse(out);
    EXPECT_FALSE(doc["mcpServers"].contains(name)) << out;
    EXPECT_EQ(doc["mcpServers"].size(), 2u) << out;
    EXPECT_EQ(doc["other"], true);
  }
  std::string only = jsonc_remove_member(R"({"mcpServers": {"a": 1}})", "mcpServers", "a");
  EXPECT_EQ(json::parse(only), json({{"mcpServers", json::object()}}));
}

std::string error_of(const std::string& text) {
  try {
    jsonc_set_member(text, "servers", "fetch", kEntry);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(JsoncEdit, RefusesWhatItCannotRead) {
  EXPECT_EQ(error_of("{\"servers\": {,}"), "not valid JSON (comments are fine; trailing commas are not)");
  EXPECT_EQ(error_of("{\"servers\": {\"a\": 1,}}"),
            "not valid JSON (comments are fine; trailing commas are not)");
  EXPECT_EQ(error_of("[1, 2]"), "its top level is not a JSON object");
  EXPECT_EQ(error_of("{\"servers\": [1]}"), "its \"servers\" is not a JSON object");
  EXPECT_EQ(error_of(std::string(5000, '[') + std::string(5000, ']')).find("not valid JSON"), 0u);
  EXPECT_EQ(error_of("{\"servers\": \"/* not a comment */\"}"), "its \"servers\" is not a JSON object");
}

TEST(JsoncEdit, StringsThatLookLikeSyntaxAreNotConfused) {
  const std::string tricky = R"({"servers": {"a\"}": "//", "b": "/*{"}, "x": "}"})";
  std::string out = jsonc_set_member(tricky, "servers", "fetch", kEntry);
  json doc = json::parse(out);
  EXPECT_EQ(doc["servers"]["a\"}"], "//");
  EXPECT_EQ(doc["servers"]["fetch"], kEntry);
  EXPECT_EQ(doc["x"], "}");
}

}  // namespace
}  // namespace mcpvm::mcp
