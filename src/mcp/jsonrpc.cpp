#include "mcp/jsonrpc.h"

#include <fmt/format.h>

namespace mcpvm::mcp {

namespace {

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

}  // namespace

MessageKind classify(const json& m) {
  if (!m.is_object()) return MessageKind::invalid;
  auto version = m.find("jsonrpc");
  if (version == m.end() || *version != "2.0") return MessageKind::invalid;
  auto method = m.find("method");
  auto id = m.find("id");
  if (method != m.end()) {
    if (!method->is_string()) return MessageKind::invalid;
    auto params = m.find("params");
    if (params != m.end() && !params->is_object() && !params->is_array()) return MessageKind::invalid;
    if (id == m.end()) return MessageKind::notification;
    return valid_id(*id) ? MessageKind::request : MessageKind::invalid;
  }
  if (id == m.end()) return MessageKind::invalid;
  const bool has_result = m.contains("result"), has_error = m.contains("error");
  if (has_result == has_error) return MessageKind::invalid;
  // Error responses may carry a null id (the peer could not read ours).
  if (!valid_id(*id) && !(has_error && id->is_null())) return MessageKind::invalid;
  return MessageKind::response;
}

json make_error(const json& id, int code, std::string_view message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", std::string(message)}}}};
}

json make_result(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_notification(std::string_view method, json params) {
  json n = {{"jsonrpc", "2.0"}, {"method", std::string(method)}};
  if (!params.is_null()) n["params"] = std::move(params);
  return n;
}

ParsedBody parse_body(std::string_view body) {
  ParsedBody out;
  bool too_deep = false;
  json doc = parse_untrusted_json(body, &too_deep);
  if (too_deep) {
    out.error = make_error(nullptr, rpc::kParseError, "Parse error: " + too_deep_reason());
    return out;
  }
  if (doc.is_discarded()) {
    out.error = make_error(nullptr, rpc::kParseError, "Parse error: the body is not valid JSON");
    return out;
  }
  if (doc.is_array()) {
    out.batch = true;
    if (doc.empty()) {
      out.error = make_error(nullptr, rpc::kInvalidRequest, "Invalid Request: empty batch");
      return out;
    }
    for (auto& m : doc) out.messages.push_back(std::move(m));
  } else {
    out.messages.push_back(std::move(doc));
  }
  for (const json& m : out.messages) {
    if (classify(m) == MessageKind::invalid) {
      out.messages.clear();
      out.error = make_error(nullptr, rpc::kInvalidRequest, "Invalid Request: not a JSON-RPC 2.0 message");
      return out;
    }
  }
  out.ok = true;
  return out;
}

std::string id_key(const json& id) {
  return id.dump();
}

}  // namespace mcpvm::mcp
