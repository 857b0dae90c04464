// JSON-RPC 2.0 as MCP uses it: classifying messages, building errors, parsing untrusted request bodies.
// Pure functions over bytes and nlohmann::json, no I/O: the transports and the hub share them, and the
// fuzz target drives parse_body() directly.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

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

// How deep untrusted JSON may nest. nlohmann::json's dump(), copy and comparison recurse once per level,
// so a 2 MB "[[[[..." would overflow the stack and kill the runner with its VM. Real MCP traffic stays
// far below (tool input schemas nest 20-30 levels).
constexpr size_t kMaxJsonDepth = 128;

// Whether text nests arrays/objects deeper than max_depth, counting brackets outside strings in one
// pass with no allocation. For invalid JSON the count is still an upper bound of what a parser builds
// before it fails, so a "no" makes parsing safe.
bool nested_deeper_than(std::string_view text, size_t max_depth);

// Parses untrusted JSON (a request body, a line or event from the server): a discarded value
// (is_discarded()) when it is invalid or nests deeper than kMaxJsonDepth, which is checked before
// nlohmann sees it; *too_deep says which. Never throws.
json parse_untrusted_json(std::string_view text, bool* too_deep = nullptr);
// "JSON nested deeper than 128 levels": what the log and the clients are told.
std::string too_deep_reason();

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
