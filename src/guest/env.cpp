#include "guest/env.h"

#include <algorithm>

namespace mcpvm::guest {

namespace {
std::string_view key_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}
}  // namespace

std::vector<std::string> merge_env(const std::vector<std::vector<std::string>>& layers) {
  std::vector<std::string> out;
  for (const auto& layer : layers) {
    for (const auto& entry : layer) {
      auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      std::string_view key = key_of(entry);
      auto same =
          std::find_if(out.begin(), out.end(), [&](const std::string& e) { return key_of(e) == key; });
      if (same != out.end())
        *same = entry;
      else
        out.push_back(entry);
    }
  }
  return out;
}

const std::string* find_env(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (key_of(e) == key && e.size() > key.size()) return &e;
  return nullptr;
}

void set_default_env(std::vector<std::string>& env, std::string_view key, std::string_view value) {
  if (!find_env(env, key)) env.push_back(std::string(key) + "=" + std::string(value));
}

}  // namespace mcpvm::guest
