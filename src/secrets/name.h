// Secret names and references. A name is what `mcpvm secret set NAME` stores and `--secret NAME,...`
// refers to; a reference says which guest environment variable (the target) receives the value.
// Names are strict ([A-Za-z0-9_.-], 1..64 bytes) so that they are safe in messages, file-free JSON
// keys and environment variable names (MCPVM_SECRET_<NAME>).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::secrets {

inline constexpr size_t kMaxNameLength = 64;
inline constexpr const char* kEnvProviderPrefix = "MCPVM_SECRET_";
inline constexpr const char* kPassphraseVar = "MCPVM_SECRETS_PASSPHRASE";

// Throws Error ("secret name "x y": use 1-64 letters, digits, '_', '.' or '-'") unless valid.
void check_secret_name(std::string_view name);

// Throws Error unless `target` can be an environment variable name in the guest ([A-Za-z_][A-Za-z0-9_]*).
void check_env_target(std::string_view target);

// The environment provider's variable for NAME: MCPVM_SECRET_<NAME>.
std::string env_provider_var(std::string_view name);

// A reference to a secret, as RunConfig keeps it: never a value.
struct SecretRef {
  std::string name;
  std::string target;  // the guest environment variable
  bool operator==(const SecretRef&) const = default;
};

// Parses ToolHive's flag syntax "NAME,target=ENV". Throws Error naming the flag on anything else.
SecretRef parse_secret_flag(std::string_view flag);

// Throws Error when two references set the same target.
void check_unique_targets(const std::vector<SecretRef>& refs);

}  // namespace mcpvm::secrets
