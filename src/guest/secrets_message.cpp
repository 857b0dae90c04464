#include "guest/secrets_message.h"

#include <nlohmann/json.hpp>

#include "guest/protocol.h"

namespace mcpvm::guest {

namespace {

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 255 || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

void check_entry(const std::string& entry, size_t index) {
  size_t eq = entry.find('=');
  if (eq == std::string::npos || !valid_key(std::string_view(entry).substr(0, eq)))
    throw ProtocolError("secrets: entry " + std::to_string(index) + " is not KEY=VALUE");
  if (entry.find('\0') != std::string::npos)
    throw ProtocolError("secrets: entry " + std::to_string(index) + " holds a NUL byte");
}

void wipe_json(nlohmann::json& j) {
  if (j.is_string()) wipe_string(j.get_ref<std::string&>());
  if (j.is_structured())
    for (auto& item : j) wipe_json(item);
}

}  // namespace

void wipe_string(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

void wipe_strings(std::vector<std::string>& strings) {
  for (auto& s : strings) wipe_string(s);
  strings.clear();
}

std::string encode_secrets(const std::vector<std::string>& env) {
  if (env.size() > kMaxSecretEntries) throw ProtocolError("secrets: too many entries");
  for (size_t i = 0; i < env.size(); ++i) check_entry(env[i], i);
  nlohmann::json j{{"env", env}};
  std::string out = j.dump();
  wipe_json(j);
  return out;
}

std::vector<std::string> parse_secrets(std::string_view payload, size_t expected) {
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
  struct Wiper {
    nlohmann::json& j;
    ~Wiper() { wipe_json(j); }
  } wiper{j};
  if (j.is_discarded() || !j.is_object()) throw ProtocolError("secrets: not a JSON object");
  if (j.size() != 1 || !j.contains("env") || !j["env"].is_array())
    throw ProtocolError("secrets: expected {\"env\": [...]} and nothing else");
  const auto& list = j["env"];
  if (list.size() > kMaxSecretEntries) throw ProtocolError("secrets: too many entries");
  if (list.size() != expected)
    throw ProtocolError("secrets: " + std::to_string(list.size()) + " entries, expected " +
                        std::to_string(expected));
  std::vector<std::string> env;
  try {
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string())
        throw ProtocolError("secrets: entry " + std::to_string(i) + " is not a string");
      env.push_back(list[i].get<std::string>());
      check_entry(env.back(), i);
    }
  } catch (...) {
    wipe_strings(env);
    throw;
  }
  return env;
}

}  // namespace mcpvm::guest
