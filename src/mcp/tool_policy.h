// ToolPolicy: which of the server's tools clients see and may call, and under which names and
// descriptions (`run --tools a,b`, `--tools-override FILE`, as ToolHive's flags). The hub asks it on
// the way in (tools/call: a tool that is not offered is refused without reaching the server) and on the
// way out (tools/list results are filtered and rewritten). Pure logic, no I/O.
//
// Names in the allow list are the names clients see, i.e. after overrides: `--tools fetch_url` with an
// override fetch -> fetch_url offers the server's `fetch` as `fetch_url`, and `fetch` itself is not
// callable under its old name.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "mcp/jsonrpc.h"

namespace mcpvm::mcp {

struct ToolOverride {
  std::string name;         // empty: keep the server's name
  std::string description;  // empty: keep the server's description
};

class ToolPolicy {
 public:
  ToolPolicy() = default;  // every tool, unchanged
  // allowed: client-visible names (nullopt: every tool). overrides: by the server's tool name. Throws
  // Error when two tools would end up with one visible name.
  ToolPolicy(std::optional<std::set<std::string>> allowed, std::map<std::string, ToolOverride> overrides);

  bool changes_nothing() const { return !allowed_ && overrides_.empty(); }

  // The server's name of the tool a client calls `visible`, or nullopt when no offered tool has that name.
  std::optional<std::string> server_name(const std::string& visible) const;
  // The name clients see for the server's tool `name`, or nullopt when it is not offered.
  std::optional<std::string> visible_name(const std::string& name) const;

  // A tools/call request from a client: its params.name becomes the server's name. Returns the error
  // message for the client (and the request must not be forwarded) when the tool is not offered.
  std::optional<std::string> admit_call(json& request) const;
  // A tools/list result from the server: tools that are not offered are dropped, the rest renamed and
  // redescribed.
  void rewrite_list_result(json& result) const;

 private:
  std::optional<std::set<std::string>> allowed_;
  std::map<std::string, ToolOverride> overrides_;    // by server name
  std::map<std::string, std::string> renamed_from_;  // visible name -> server name, for renamed tools
};

// Parses ToolHive's tools-override document: {"toolsOverride": {"SERVER_NAME": {"name": "...",
// "description": "..."}}}. Strict: unknown keys, wrong types, empty or over-long names are errors naming
// the key. Throws Error.
std::map<std::string, ToolOverride> parse_tools_override(const json& doc);

// "a,b,c" (the --tools flag) -> names; blanks around commas are dropped; empty items are errors.
std::set<std::string> parse_tool_list(const std::string& text);

}  // namespace mcpvm::mcp
