// The server's environment: the config's layers merged (a later layer overrides an earlier one's key),
// plus the defaults docker provides when the image does not set them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::guest {

inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Merges "KEY=VALUE" layers, lowest precedence first. The first occurrence of a key fixes its position,
// the last one its value. Entries without '=' or with an empty key are dropped.
std::vector<std::string> merge_env(const std::vector<std::vector<std::string>>& layers);

// Adds KEY=value when the environment has no KEY.
void set_default_env(std::vector<std::string>& env, std::string_view key, std::string_view value);

// The value of KEY, or nullptr.
const std::string* find_env(const std::vector<std::string>& env, std::string_view key);

}  // namespace mcpvm::guest
