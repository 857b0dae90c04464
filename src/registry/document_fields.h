// Reading fields of registry documents (untrusted, written by others, in formats that grow): a missing
// optional field is its default, a field we do not know is ignored (the formats add fields often), and a
// known field of the wrong type is an Error naming it by path ("servers.fetch.target_port: expected an
// integer from 1 to 65535"). Internal to src/registry.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::registry::fields {

// Throws unless j is an object.
void expect_object(const nlohmann::json& j, const std::string& path);

std::string string_or(const nlohmann::json& object, std::string_view key, const std::string& path,
                      std::string fallback = {});
bool bool_or(const nlohmann::json& object, std::string_view key, const std::string& path, bool fallback);
std::vector<std::string> strings(const nlohmann::json& object, std::string_view key, const std::string& path);
// 0 when absent; 1-65535 otherwise (numbers only; a string "8080" is refused).
uint16_t port_or_zero(const nlohmann::json& object, std::string_view key, const std::string& path);

std::string join(const std::string& path, std::string_view key);

}  // namespace mcpvm::registry::fields
