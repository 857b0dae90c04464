// What a registry entry's environment variables add to `run NAME`, given what the user already said:
// pure, so the rules are tested as tables (tests/unit/registry_run_plan_test.cpp).
//
//   secret variable, not given (-e/--env-file/--secret target=VAR)  -> --secret VAR,target=VAR when a secret
//       named VAR is available (MCPVM_SECRET_VAR or the store: the documented default name), else
//       missing if required, else left out
//   other variable, not given   -> its default beneath the user's -e, else missing if required
//
// Missing variables fail `run` before anything is pulled or booted, with every one listed and how to give it.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "registry/entry.h"

namespace mcpvm::registry {

struct RunPlanInput {
  std::set<std::string> env_given;       // names set by -e NAME[=..] and --env-file
  std::set<std::string> secret_targets;  // targets of --secret NAME,target=ENV
  // Whether a secret of this name can be resolved (environment provider or store); asked only for
  // secret variables the user did not give, so a store is unlocked only when needed.
  std::function<bool(const std::string&)> secret_available;
};

struct SecretBinding {
  std::string secret;
  std::string target;
  bool operator==(const SecretBinding&) const = default;
};

struct RunPlan {
  std::vector<std::string> env_defaults;  // "NAME=VALUE", beneath the user's -e
  std::vector<SecretBinding> secrets;
  std::vector<std::string> missing;  // one line each: "  NAME (secret): what it is; give it with ..."
};

// The secret a secret variable is read from by default: the variable's own name, when it is a valid
// secret name (secrets/name.h: at most 64 of [A-Za-z0-9_.-]); empty otherwise.
std::string default_secret_name(const EnvVarSpec& var);

RunPlan plan_env(const RegistryEntry& entry, const RunPlanInput& input);

// "NAME needs N environment variables that were not given:\n<missing lines>"; for Error.
std::string missing_env_message(const RegistryEntry& entry, const RunPlan& plan);

}  // namespace mcpvm::registry
