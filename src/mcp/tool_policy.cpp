#include "mcp/tool_policy.h"

#include "util/error.h"
#include "util/json_fields.h"

namespace mcpvm::mcp {

namespace {

constexpr size_t kMaxToolNameBytes = 128;  // the spec's tool-name guidance: 1..128 characters

void check_tool_name(const std::string& name, std::string_view where) {
  if (name.empty() || name.size() > kMaxToolNameBytes)
    fail("{}: a tool name has 1 to {} characters", where, kMaxToolNameBytes);
  for (unsigned char c : name)
    if (c <= ' ' || c == 0x7f) fail("{}: tool name {:?} has a space or a control character", where, name);
}

}  // namespace

ToolPolicy::ToolPolicy(std::optional<std::set<std::string>> allowed,
                       std::map<std::string, ToolOverride> overrides)
    : allowed_(std::move(allowed)), overrides_(std::move(overrides)) {
  for (const auto& [server, o] : overrides_) {
    if (o.name.empty() || o.name == server) continue;
    if (!renamed_from_.emplace(o.name, server).second)
      fail("tools override: {:?} and {:?} are both renamed to {:?}", renamed_from_[o.name], server, o.name);
  }
}

std::optional<std::string> ToolPolicy::visible_name(const std::string& name) const {
  std::string visible = name;
  if (auto it = overrides_.find(name); it != overrides_.end() && !it->second.name.empty())
    visible = it->second.name;
  // A tool whose name another tool was renamed to gives way: one visible name, one tool.
  if (auto taken = renamed_from_.find(visible); taken != renamed_from_.end() && taken->second != name)
    return std::nullopt;
  if (allowed_ && !allowed_->count(visible)) return std::nullopt;
  return visible;
}

std::optional<std::string> ToolPolicy::server_name(const std::string& visible) const {
  std::string server = visible;
  if (auto it = renamed_from_.find(visible); it != renamed_from_.end()) server = it->second;
  if (visible_name(server) != visible) return std::nullopt;
  return server;
}

std::optional<std::string> ToolPolicy::admit_call(json& request) const {
  if (changes_nothing()) return std::nullopt;
  json& params = request["params"];
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string())
    return std::string("tools/call needs params.name");
  const std::string visible = params["name"];
  auto server = server_name(visible);
  if (!server) return fmt::format("Unknown tool: {}", visible);
  params["name"] = *server;
  return std::nullopt;
}

void ToolPolicy::rewrite_list_result(json& result) const {
  if (changes_nothing() || !result.is_object() || !result.contains("tools") || !result["tools"].is_array())
    return;
  json kept = json::array();
  for (json& tool : result["tools"]) {
    if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
    const std::string name = tool["name"];
    auto visible = visible_name(name);
    if (!visible) continue;
    tool["name"] = *visible;
    if (auto it = overrides_.find(name); it != overrides_.end() && !it->second.description.empty())
      tool["description"] = it->second.description;
    kept.push_back(std::move(tool));
  }
  result["tools"] = std::move(kept);
}

std::map<std::string, ToolOverride> parse_tools_override(const json& doc) {
  JsonFields top(doc, "");
  json overrides = top.raw("toolsOverride");
  top.finish();
  if (!overrides.is_object()) fail("toolsOverride: expected an object of tool names");
  std::map<std::string, ToolOverride> out;
  for (const auto& [server, spec] : overrides.items()) {
    std::string where = "toolsOverride." + server;
    check_tool_name(server, where);
    JsonFields f(spec, where);
    ToolOverride o;
    o.name = f.get<std::string>("name", "");
    o.description = f.get<std::string>("description", "");
    f.finish();
    if (!o.name.empty()) check_tool_name(o.name, where + ".name");
    if (o.description.size() > 64 * 1024) fail("{}.description: longer than 64 KiB", where);
    out.emplace(server, std::move(o));
  }
  return out;
}

std::set<std::string> parse_tool_list(const std::string& text) {
  std::set<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) fail("--tools {:?}: an empty tool name (expected names separated by commas)", text);
    check_tool_name(item, "--tools");
    names.insert(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

}  // namespace mcpvm::mcp
