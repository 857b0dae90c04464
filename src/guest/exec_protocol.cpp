#include "guest/exec_protocol.h"

#include <nlohmann/json.hpp>

#include "util/json_depth.h"

namespace mcpvm::guest {

namespace {

using nlohmann::json;

json parse_object(std::string_view payload, const char* what) {
  bool too_deep = false;
  json j = parse_untrusted_json(payload, &too_deep);
  if (too_deep) throw ProtocolError(std::string(what) + ": " + too_deep_reason());
  if (j.is_discarded() || !j.is_object()) throw ProtocolError(std::string(what) + ": not a JSON object");
  return j;
}

// The integer at `key` within [lo, hi]; `fallback` when absent.
int64_t int_field(const json& j, const char* key, int64_t lo, int64_t hi, int64_t fallback,
                  const char* what) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_number_integer())
    throw ProtocolError(std::string(what) + ": \"" + key + "\" is not an integer");
  int64_t v =
      it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : it->get<int64_t>();
  if (v < lo || v > hi) throw ProtocolError(std::string(what) + ": \"" + key + "\" out of range");
  return v;
}

std::string string_field(const json& j, const char* key, const char* what) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_string()) throw ProtocolError(std::string(what) + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

std::vector<std::string> string_list(const json& j, const char* key, size_t max, const char* what) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_array()) throw ProtocolError(std::string(what) + ": \"" + key + "\" is not a list");
  if (it->size() > max) throw ProtocolError(std::string(what) + ": too many \"" + key + "\" entries");
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (!e.is_string()) throw ProtocolError(std::string(what) + ": \"" + key + "\" holds a non-string");
    std::string s = e.get<std::string>();
    // A NUL would silently truncate the C string handed to execve.
    if (s.find('\0') != std::string::npos)
      throw ProtocolError(std::string(what) + ": NUL byte in \"" + key + "\"");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::string encode_exec_start(const ExecStart& s) {
  return json{{"argv", s.argv}, {"env", s.env},   {"tty", s.tty},        {"rows", s.rows},
              {"cols", s.cols}, {"user", s.user}, {"workdir", s.workdir}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

ExecStart parse_exec_start(std::string_view payload) {
  const char* what = "exec start";
  json j = parse_object(payload, what);
  ExecStart s;
  s.argv = string_list(j, "argv", kExecMaxArgs, what);
  if (s.argv.empty() || s.argv[0].empty()) throw ProtocolError("exec start: no command");
  s.env = string_list(j, "env", kExecMaxEnv, what);
  if (auto it = j.find("tty"); it != j.end()) {
    if (!it->is_boolean()) throw ProtocolError("exec start: \"tty\" is not a boolean");
    s.tty = it->get<bool>();
  }
  s.rows = uint16_t(int_field(j, "rows", 0, 65535, 24, what));
  s.cols = uint16_t(int_field(j, "cols", 0, 65535, 80, what));
  s.user = string_field(j, "user", what);
  s.workdir = string_field(j, "workdir", what);
  for (const std::string* f : {&s.user, &s.workdir})
    if (f->find('\0') != std::string::npos) throw ProtocolError("exec start: NUL byte in user or workdir");
  return s;
}

std::string encode_exec_exit(const ExecExit& e) {
  json j{{"code", e.code}, {"signal", e.signal}};
  if (!e.error.empty()) j["error"] = e.error;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

ExecExit parse_exec_exit(std::string_view payload) {
  const char* what = "exec exit";
  json j = parse_object(payload, what);
  ExecExit e;
  e.code = int(int_field(j, "code", 0, 255, -1, what));
  if (e.code < 0) throw ProtocolError("exec exit: no \"code\"");
  e.signal = int(int_field(j, "signal", 0, 64, 0, what));
  e.error = string_field(j, "error", what);
  if (e.error.size() > 4096) e.error.resize(4096);
  return e;
}

std::string encode_resize(WindowSize size) {
  return json{{"rows", size.rows}, {"cols", size.cols}}.dump();
}

WindowSize parse_resize(std::string_view payload) {
  json j = parse_object(payload, "exec resize");
  if (!j.contains("rows") || !j.contains("cols")) throw ProtocolError("exec resize: needs rows and cols");
  WindowSize w;
  w.rows = uint16_t(int_field(j, "rows", 0, 65535, 0, "exec resize"));
  w.cols = uint16_t(int_field(j, "cols", 0, 65535, 0, "exec resize"));
  return w;
}

std::string encode_exec_signal(int signal) {
  return json{{"signal", signal}}.dump();
}

int parse_exec_signal(std::string_view payload) {
  json j = parse_object(payload, "exec signal");
  int sig = int(int_field(j, "signal", 1, 64, -1, "exec signal"));
  if (sig < 0) throw ProtocolError("exec signal: no \"signal\"");
  return sig;
}

std::string encode_ack(uint32_t bytes) {
  return json{{"bytes", bytes}}.dump();
}

uint32_t parse_ack(std::string_view payload) {
  json j = parse_object(payload, "exec ack");
  int64_t n = int_field(j, "bytes", 1, kExecWindow, -1, "exec ack");
  if (n < 0) throw ProtocolError("exec ack: no \"bytes\"");
  return uint32_t(n);
}

}  // namespace mcpvm::guest
