// mcpvm-demo-server: a tiny MCP server over stdio (newline-delimited JSON-RPC 2.0), linked statically so
// it runs in any guest rootfs. It is the workload of `make demo` and of the fast VM tests, so its
// answers prove where it runs: `sysinfo` reports the kernel, hostname and uptime it sees.
//
// Tools: echo {message}, add {a, b}, sysinfo {}, sleep {ms} (answers after a delay: timeouts, ordering),
// exit {code} (the server exits without answering: crash handling).
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

namespace {

using nlohmann::json;

constexpr std::array kProtocolVersions = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

// JSON-RPC error codes (https://www.jsonrpc.org/specification#error_object).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;

struct RpcError {
  int code;
  std::string message;
};

void send(const json& message) {
  // One message per line; dump() escapes newlines inside strings, so a line is always a whole message.
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void send_error(const json& id, const RpcError& e) {
  send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", e.code}, {"message", e.message}}}});
}

json text_result(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}};
}

json tool_error(const std::string& text) {
  json r = text_result(text);
  r["isError"] = true;
  return r;
}

json tool_list() {
  auto object = [](json properties, json required) {
    return json{{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
  };
  return json::array({
      {{"name", "echo"},
       {"description", "Returns the message it is given"},
       {"inputSchema", object({{"message", {{"type", "string"}}}}, {"message"})}},
      {{"name", "add"},
       {"description", "Adds two numbers"},
       {"inputSchema", object({{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}, {"a", "b"})}},
      {{"name", "sysinfo"},
       {"description", "Kernel, hostname and uptime of the machine the server runs on"},
       {"inputSchema", object(json::object(), json::array())}},
      {{"name", "sleep"},
       {"description", "Answers after the given number of milliseconds (at most 60000)"},
       {"inputSchema", object({{"ms", {{"type", "integer"}}}}, {"ms"})}},
      {{"name", "exit"},
       {"description", "Terminates the server without answering (for crash-handling tests)"},
       {"inputSchema", object({{"code", {{"type", "integer"}}}}, json::array())}},
  });
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

json sysinfo() {
  utsname u{};
  uname(&u);
  std::string uptime = read_first_line("/proc/uptime");
  json info = {{"sysname", u.sysname},
               {"release", u.release},
               {"machine", u.machine},
               {"hostname", u.nodename},
               {"pid", static_cast<int>(getpid())},
               {"uptime_seconds", uptime.empty() ? 0.0 : std::stod(uptime)}};
  json r = text_result(info.dump());
  r["structuredContent"] = info;
  return r;
}

json call_tool(const json& params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string())
    throw RpcError{kInvalidParams, "tools/call needs params.name"};
  const std::string name = params["name"];
  const json args = params.value("arguments", json::object());
  if (!args.is_object()) throw RpcError{kInvalidParams, "arguments must be an object"};
  if (name == "echo") {
    if (!args.contains("message") || !args["message"].is_string())
      return tool_error("echo needs a string 'message'");
    return text_result("Echo: " + args["message"].get<std::string>());
  }
  if (name == "add") {
    if (!args.contains("a") || !args.contains("b") || !args["a"].is_number() || !args["b"].is_number())
      return tool_error("add needs numbers 'a' and 'b'");
    double sum = args["a"].get<double>() + args["b"].get<double>();
    json r = text_result(json(sum).dump());
    r["structuredContent"] = {{"sum", sum}};
    return r;
  }
  if (name == "sysinfo") return sysinfo();
  if (name == "sleep") {
    if (!args.contains("ms") || !args["ms"].is_number_integer())
      return tool_error("sleep needs an integer 'ms'");
    auto ms = std::clamp<long long>(args["ms"].get<long long>(), 0, 60000);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return text_result("slept " + std::to_string(ms) + " ms");
  }
  if (name == "exit") {
    std::fflush(stdout);
    std::_Exit(args.value("code", 3));
  }
  throw RpcError{kInvalidParams, "unknown tool: " + name};
}

json initialize(const json& params) {
  std::string requested = params.is_object() ? params.value("protocolVersion", "") : "";
  std::string version = kProtocolVersions.front();
  for (const char* v : kProtocolVersions)
    if (requested == v) version = v;
  return {{"protocolVersion", version},
          {"capabilities", {{"tools", {{"listChanged", false}}}}},
          {"serverInfo", {{"name", "mcpvm-demo-server"}, {"version", "0.1.0"}}},
          {"instructions", "A demo server: echo, add, sysinfo (where am I running?), sleep, exit."}};
}

json dispatch(const std::string& method, const json& params) {
  if (method == "initialize") return initialize(params);
  if (method == "ping") return json::object();
  if (method == "tools/list") return {{"tools", tool_list()}};
  if (method == "tools/call") return call_tool(params);
  throw RpcError{kMethodNotFound, "method not found: " + method};
}

void handle_line(const std::string& line) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return;
  json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return send_error(nullptr, {kParseError, "parse error"});
  if (!message.is_object()) return send_error(nullptr, {kInvalidRequest, "expected a JSON-RPC object"});
  const bool has_id = message.contains("id");
  json id = has_id ? message["id"] : json();
  if (has_id && !id.is_string() && !id.is_number_integer())
    return send_error(nullptr, {kInvalidRequest, "id must be a string or an integer"});
  if (!message.contains("method")) return;  // a response to a request we never sent: nothing to do
  if (!message["method"].is_string()) {
    if (has_id) send_error(id, {kInvalidRequest, "method must be a string"});
    return;
  }
  if (!has_id) return;  // notifications (initialized, cancelled, ...) need no answer
  try {
    json result = dispatch(message["method"], message.value("params", json::object()));
    send({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  } catch (const RpcError& e) {
    send_error(id, e);
  } catch (const json::exception& e) {
    send_error(id, {kInvalidParams, e.what()});
  }
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) handle_line(line);
  return 0;
}
