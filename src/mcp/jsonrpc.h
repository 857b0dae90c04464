// JSON-RPC 2.0 as MCP uses it: classifying messages, building errors, parsing untrusted request bodies.
// Pure functions over bytes and nlohmann::json, no I/O: the transports and the hub share them, and the
// fuzz target drives parse_body() directly.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "util/json_depth.h"

namespace mcpvm::mcp {

using nlohmann::json;

namespace rpc {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
// Implementation-defined server errors (-32000..-32099).
constexpr int kServerUnavailable = -32000;  // the MCP server exited or cannot be reached
constexpr int kRequestTimeout = -32001;     // the MCP server did not answer in time
constexpr int kSessionClosed = -32002;      // the client's session ended while its request was open
}  // namespace rpc

enum class MessageKind { request, notification, response, invalid };

// Classifies one decoded JSON-RPC message. Requests have a method and a string/integer id,
// notifications a method and no id, responses an id and exactly one of result/error.
MessageKind classify(const json& message);

json make_error(const json& id, int code, std::string_view message);
json make_result(const json& id, json result);
json make_notification(std::string_view method, json params);

// Untrusted JSON is parsed with util/json_depth.h (parse_untrusted_json, kMaxJsonDepth).

// A decoded HTTP request body: one message or a batch (array) of them.
struct ParsedBody {
  bool ok = false;
  bool batch = false;
  std::vector<json> messages;
  json error;  // when !ok: the JSON-RPC error response to send (id null)
};

// Parses an untrusted body. Rejects invalid or too deeply nested JSON (-32700), empty batches, non-object
// members and messages classify() calls invalid (-32600). Never throws.
ParsedBody parse_body(std::string_view body);

// Stable map key for a JSON-RPC id (1 and "1" are different ids).
std::string id_key(const json& id);

}  // namespace mcpvm::mcp
