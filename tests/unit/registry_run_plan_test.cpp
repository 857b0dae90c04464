// The env/secret rules of `run NAME` (registry/run_plan.h) as a table.
#include <gtest/gtest.h>

#include "registry/run_plan.h"

namespace mcpvm::registry {
namespace {

RegistryEntry entry() {
  RegistryEntry e;
  e.name = "io.example/svc";
  e.env = {{"API_TOKEN", "The API token", true, true, std::nullopt},
           {"OPTIONAL_KEY", "", false, true, std::nullopt},
           {"REGION", "Where", true, false, std::nullopt},
           {"LOG_LEVEL", "", false, false, std::string("info")}};
  return e;
}

TEST(RunPlan, Table) {
  struct Case {
    const char* what;
    RunPlanInput in;
    std::vector<std::string> defaults;
    std::vector<SecretBinding> secrets;
    size_t missing;
  };
  auto none = [](const std::string&) { return false; };
  auto all = [](const std::string&) { return true; };
  std::vector<Case> cases = {
      {"nothing given, nothing stored", {{}, {}, none}, {"LOG_LEVEL=info"}, {}, 2},
      {"stored secrets are bound by their default name",
       {{"REGION"}, {}, all},
       {"LOG_LEVEL=info"},
       {{"API_TOKEN", "API_TOKEN"}, {"OPTIONAL_KEY", "OPTIONAL_KEY"}},
       0},
      {"--secret for the target wins over the default name",
       {{"REGION"}, {"API_TOKEN"}, all},
       {"LOG_LEVEL=info"},
       {{"OPTIONAL_KEY", "OPTIONAL_KEY"}},
       0},
      {"-e gives a secret variable too (with the usual hint)",
       {{"REGION", "API_TOKEN", "LOG_LEVEL"}, {}, none},
       {},
       {},
       0},
      {"only the required secret is missing", {{"REGION"}, {}, none}, {"LOG_LEVEL=info"}, {}, 1},
  };
  for (const auto& c : cases) {
    RunPlan plan = plan_env(entry(), c.in);
    EXPECT_EQ(plan.env_defaults, c.defaults) << c.what;
    EXPECT_EQ(plan.secrets, c.secrets) << c.what;
    EXPECT_EQ(plan.missing.size(), c.missing) << c.what;
  }
}

TEST(RunPlan, TheMessageListsEveryMissingVariableAndHowToGiveIt) {
  RunPlan plan = plan_env(entry(), {{}, {}, [](const std::string&) { return false; }});
  std::string m = missing_env_message(entry(), plan);
  EXPECT_EQ(
      m,
      "io.example/svc needs 2 environment variables that were not given (nothing was started):\n"
      "  API_TOKEN (secret): The API token; give it with `mcpvm secret set API_TOKEN` (read by default), "
      "MCPVM_SECRET_API_TOKEN=..., or --secret NAME,target=API_TOKEN\n"
      "  REGION: Where; give it with -e REGION=VALUE");
}

TEST(RunPlan, TheStoreIsAskedOnlyForSecretsNotGiven) {
  std::vector<std::string> asked;
  RunPlanInput in{{"REGION"}, {"API_TOKEN"}, [&](const std::string& n) {
                    asked.push_back(n);
                    return false;
                  }};
  plan_env(entry(), in);
  EXPECT_EQ(asked, std::vector<std::string>{"OPTIONAL_KEY"});
}

}  // namespace
}  // namespace mcpvm::registry
