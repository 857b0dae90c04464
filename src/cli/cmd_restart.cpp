// `mcpvm restart [-t SECS] NAME...`: a running VM reboots inside its runner (same URL and token);
// otherwise stop (graceful, then forced) and start again (a new token: registered clients are updated).
#include <iostream>
#include <optional>

#include "cli/client_registry.h"
#include "cli/command.h"
#include "cli/for_each_vm.h"
#include "runner/endpoint_token.h"
#include "runner/lifecycle.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

struct RestartOptions {
  double timeout_s = 10;
  std::vector<std::string> names;
};

int run_restart(const RestartOptions& o) {
  return for_each_vm(o.names, "restarting", [&](const std::string& name) {
    runner::VmDir dir = runner::VmDir::for_name(name);
    auto token_of = [&]() -> std::optional<std::string> {
      try {
        return runner::read_endpoint_token(dir);
      } catch (const Error&) {
        return std::nullopt;
      }
    };
    auto token_before = token_of();
    auto r = runner::restart_vm(name, std::chrono::milliseconds(long(std::max(0.0, o.timeout_s) * 1000)));
    if (token_of() != token_before) refresh_registered_clients(name);
    std::cout << r.name << (r.state.endpoint.empty() ? "" : "  " + r.state.endpoint) << "\n";
  });
}

const Command kRestart{"restart", "Restart VMs", 45, [](CLI::App& app) {
                         auto o = std::make_shared<RestartOptions>();
                         app.add_option("-t,--time", o->timeout_s,
                                        "Seconds to wait for the server when stopping")
                             ->capture_default_str();
                         app.add_option("names", o->names, "VM names")->required();
                         return [o] { return run_restart(*o); };
                       }};

}  // namespace
}  // namespace mcpvm::cli
