#include "registry/document_fields.h"

#include "util/error.h"

namespace mcpvm::registry::fields {

using nlohmann::json;

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

namespace {
const json* member(const json& object, std::string_view key) {
  auto it = object.find(std::string(key));
  return it == object.end() || it->is_null() ? nullptr : &*it;
}
}  // namespace

void expect_object(const json& j, const std::string& path) {
  if (!j.is_object())
    fail("{}: expected an object, got {}", path.empty() ? "the document" : path, j.type_name());
}

std::string string_or(const json& object, std::string_view key, const std::string& path,
                      std::string fallback) {
  const json* v = member(object, key);
  if (!v) return fallback;
  if (!v->is_string()) fail("{}: expected a string, got {}", join(path, key), v->type_name());
  return v->get<std::string>();
}

bool bool_or(const json& object, std::string_view key, const std::string& path, bool fallback) {
  const json* v = member(object, key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail("{}: expected true or false, got {}", join(path, key), v->type_name());
  return v->get<bool>();
}

std::vector<std::string> strings(const json& object, std::string_view key, const std::string& path) {
  const json* v = member(object, key);
  if (!v) return {};
  if (!v->is_array()) fail("{}: expected a list of strings, got {}", join(path, key), v->type_name());
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string())
      fail("{}: expected a list of strings, found {}", join(path, key), item.type_name());
    out.push_back(item.get<std::string>());
  }
  return out;
}

uint16_t port_or_zero(const json& object, std::string_view key, const std::string& path) {
  const json* v = member(object, key);
  if (!v) return 0;
  if (!v->is_number_integer() || v->get<int64_t>() < 1 || v->get<int64_t>() > 65535)
    fail("{}: expected an integer from 1 to 65535, got {}", join(path, key),
         v->is_number() ? v->dump() : std::string(v->type_name()));
  return uint16_t(v->get<int64_t>());
}

}  // namespace mcpvm::registry::fields
