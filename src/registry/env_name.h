// Environment variable names in registry documents: [A-Za-z_][A-Za-z0-9_]*, at most 255 characters (they
// end up in -e and --secret target= spellings and in messages). Internal to src/registry.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace mcpvm::registry {

inline void check_env_name(std::string_view name, const std::string& path) {
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  bool ok = !name.empty() && name.size() <= 255 && letter(name.front());
  for (char c : name) ok = ok && (letter(c) || (c >= '0' && c <= '9'));
  if (!ok) fail("{}: name {:?} is not an environment variable name", path, name.substr(0, 64));
}

}  // namespace mcpvm::registry
