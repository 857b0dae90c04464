// `mcpvm stop [-t SECS] NAME...`: SIGTERM to the server through the guest init; after SECS the VM is
// powered off; orphans (a QEMU whose runner died) are killed.
#include <iostream>

#include "cli/command.h"
#include "cli/for_each_vm.h"
#include "runner/lifecycle.h"

namespace mcpvm::cli {
namespace {

struct StopOptions {
  double timeout_s = 10;
  std::vector<std::string> names;
};

int run_stop(const StopOptions& o) {
  return for_each_vm(o.names, "stopping", [&](const std::string& name) {
    runner::stop_vm(name, std::chrono::milliseconds(long(std::max(0.0, o.timeout_s) * 1000)));
    std::cout << name << "\n";
  });
}

const Command kStop{"stop", "Stop VMs (graceful, then forced)", 43, [](CLI::App& app) {
                      auto o = std::make_shared<StopOptions>();
                      app.add_option("-t,--time", o->timeout_s,
                                     "Seconds to wait for the server before powering off")
                          ->capture_default_str();
                      app.add_option("names", o->names, "VM names")->required();
                      return [o] { return run_stop(*o); };
                    }};

}  // namespace
}  // namespace mcpvm::cli
