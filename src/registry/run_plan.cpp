#include "registry/run_plan.h"

#include <fmt/format.h>

namespace mcpvm::registry {

std::string default_secret_name(const EnvVarSpec& var) {
  return var.name.size() <= 64 ? var.name : std::string();  // env names are [A-Za-z0-9_]: valid otherwise
}

RunPlan plan_env(const RegistryEntry& entry, const RunPlanInput& in) {
  RunPlan plan;
  for (const auto& var : entry.env) {
    std::string about = var.description.empty() ? "" : var.description + "; ";
    if (var.secret) {
      if (in.secret_targets.contains(var.name) || in.env_given.contains(var.name)) continue;
      std::string secret = default_secret_name(var);
      if (!secret.empty() && in.secret_available && in.secret_available(secret)) {
        plan.secrets.push_back({secret, var.name});
        continue;
      }
      if (!var.required) continue;
      plan.missing.push_back(fmt::format(
          "  {} (secret): {}give it with `mcpvm secret set {}` (read by default), MCPVM_SECRET_{}=..., or "
          "--secret NAME,target={}",
          var.name, about, secret.empty() ? "NAME" : secret, secret.empty() ? "NAME" : secret, var.name));
      continue;
    }
    if (in.env_given.contains(var.name)) continue;
    if (var.default_value) {
      plan.env_defaults.push_back(var.name + "=" + *var.default_value);
      continue;
    }
    if (var.required)
      plan.missing.push_back(fmt::format("  {}: {}give it with -e {}=VALUE", var.name, about, var.name));
  }
  return plan;
}

std::string missing_env_message(const RegistryEntry& entry, const RunPlan& plan) {
  std::string lines;
  for (const auto& line : plan.missing) lines += "\n" + line;
  return fmt::format("{} needs {} environment variable{} that {} not given (nothing was started):{}",
                     entry.name, plan.missing.size(), plan.missing.size() == 1 ? "" : "s",
                     plan.missing.size() == 1 ? "was" : "were", lines);
}

}  // namespace mcpvm::registry
