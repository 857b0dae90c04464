// ToolPolicy (mcp/tool_policy.h): --tools and --tools-override as ToolHive defines them, and what a
// hostile or careless override file gets.
#include <gtest/gtest.h>

#include "mcp/tool_policy.h"
#include "util/error.h"

namespace mcpvm::mcp {
namespace {

json list_of(std::initializer_list<const char*> names) {
  json tools = json::array();
  for (const char* n : names) tools.push_back({{"name", n}, {"description", std::string("server's ") + n}});
  return {{"tools", tools}};
}

std::vector<std::string> names_in(const json& result) {
  std::vector<std::string> out;
  for (const auto& t : result["tools"]) out.push_back(t["name"]);
  return out;
}

json call(const std::string& name) {
  return {{"jsonrpc", "2.0"},
          {"id", 1},
          {"method", "tools/call"},
          {"params", {{"name", name}, {"arguments", json::object()}}}};
}

TEST(ToolPolicy, NoPolicyChangesNothing) {
  ToolPolicy p;
  json r = list_of({"a", "b"});
  p.rewrite_list_result(r);
  EXPECT_EQ(r, list_of({"a", "b"}));
  json c = call("anything");
  EXPECT_EQ(p.admit_call(c), std::nullopt);
  EXPECT_EQ(c["params"]["name"], "anything");
}

TEST(ToolPolicy, AllowListFiltersListAndCalls) {
  ToolPolicy p(std::set<std::string>{"echo", "add"}, {});
  json r = list_of({"echo", "add", "delete_everything"});
  p.rewrite_list_result(r);
  EXPECT_EQ(names_in(r), (std::vector<std::string>{"echo", "add"}));
  json ok = call("echo");
  EXPECT_EQ(p.admit_call(ok), std::nullopt);
  json refused = call("delete_everything");
  EXPECT_EQ(p.admit_call(refused), "Unknown tool: delete_everything");
}

TEST(ToolPolicy, OverridesRenameAndRedescribe) {
  ToolPolicy p(std::nullopt, {{"fetch", {"fetch_url", "Fetch one URL"}}, {"add", {"", "Adds two numbers"}}});
  json r = list_of({"fetch", "add", "echo"});
  p.rewrite_list_result(r);
  EXPECT_EQ(names_in(r), (std::vector<std::string>{"fetch_url", "add", "echo"}));
  EXPECT_EQ(r["tools"][0]["description"], "Fetch one URL");
  EXPECT_EQ(r["tools"][1]["description"], "Adds two numbers");
  EXPECT_EQ(r["tools"][2]["description"], "server's echo");
  json c = call("fetch_url");
  EXPECT_EQ(p.admit_call(c), std::nullopt);
  EXPECT_EQ(c["params"]["name"], "fetch");  // the server gets its own name
  json old = call("fetch");
  EXPECT_EQ(p.admit_call(old), "Unknown tool: fetch");  // not under its old name
}

TEST(ToolPolicy, AllowListNamesVisibleNames) {
  ToolPolicy p(std::set<std::string>{"fetch_url"}, {{"fetch", {"fetch_url", ""}}});
  json r = list_of({"fetch", "echo"});
  p.rewrite_list_result(r);
  EXPECT_EQ(names_in(r), std::vector<std::string>{"fetch_url"});
  json c = call("fetch_url");
  EXPECT_EQ(p.admit_call(c), std::nullopt);
  EXPECT_EQ(c["params"]["name"], "fetch");
}

TEST(ToolPolicy, ARenameTakesTheNameFromTheToolThatHadIt) {
  ToolPolicy p(std::nullopt, {{"fetch", {"echo", ""}}});
  json r = list_of({"fetch", "echo"});
  p.rewrite_list_result(r);
  EXPECT_EQ(names_in(r), std::vector<std::string>{"echo"});
  json c = call("echo");
  EXPECT_EQ(p.admit_call(c), std::nullopt);
  EXPECT_EQ(c["params"]["name"], "fetch");
}

TEST(ToolPolicy, TwoToolsRenamedToOneNameAreRefused) {
  EXPECT_THROW(ToolPolicy(std::nullopt, {{"a", {"x", ""}}, {"b", {"x", ""}}}), Error);
}

TEST(ToolPolicy, MalformedCallsAndListsAreHandled) {
  ToolPolicy p(std::set<std::string>{"echo"}, {});
  json no_params = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}};
  EXPECT_TRUE(p.admit_call(no_params).has_value());
  json number_name = call("echo");
  number_name["params"]["name"] = 7;
  EXPECT_TRUE(p.admit_call(number_name).has_value());
  json weird = {{"tools", {1, "x", {{"name", 3}}, {{"name", "echo"}}}}};
  p.rewrite_list_result(weird);
  EXPECT_EQ(names_in(weird), std::vector<std::string>{"echo"});
  json not_a_list = {{"tools", "nope"}};
  p.rewrite_list_result(not_a_list);  // left alone, no throw
  EXPECT_EQ(not_a_list["tools"], "nope");
}

std::string parse_error(const json& doc) {
  try {
    parse_tools_override(doc);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(ToolPolicy, OverrideFileIsReadStrictly) {
  auto o = parse_tools_override(
      json::parse(R"({"toolsOverride":{"fetch":{"name":"fetch_url","description":"d"}}})"));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o["fetch"].name, "fetch_url");
  EXPECT_EQ(o["fetch"].description, "d");
  EXPECT_EQ(parse_error(json::parse(R"({"toolsOverride":{}})")), "accepted");
  EXPECT_EQ(parse_error(json::parse(R"({"tools":{}})")), "tools: unknown key");
  EXPECT_EQ(parse_error(json::parse(R"({"toolsOverride":[]})")),
            "toolsOverride: expected an object of tool names");
  EXPECT_EQ(parse_error(json::parse(R"({"toolsOverride":{"a":{"name":1}}})")),
            "toolsOverride.a.name: expected a string");
  EXPECT_EQ(parse_error(json::parse(R"({"toolsOverride":{"a":{"rename":"b"}}})")),
            "toolsOverride.a.rename: unknown key");
  EXPECT_EQ(parse_error(json::parse(R"({"toolsOverride":{"a":{"name":"b c"}}})")),
            "toolsOverride.a.name: tool name \"b c\" has a space or a control character");
  EXPECT_NE(parse_error(json{{"toolsOverride", {{std::string(200, 'a'), json::object()}}}}).find("1 to 128"),
            std::string::npos);
}

TEST(ToolPolicy, ToolListFlag) {
  EXPECT_EQ(parse_tool_list("a,b , c"), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(parse_tool_list("a"), std::set<std::string>{"a"});
  EXPECT_THROW(parse_tool_list(""), Error);
  EXPECT_THROW(parse_tool_list("a,,b"), Error);
  EXPECT_THROW(parse_tool_list("a,"), Error);
}

}  // namespace
}  // namespace mcpvm::mcp
