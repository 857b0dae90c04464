// `mcpvm rm [-f] NAME...`: removes VMs; -f stops (kills) running ones first. Orphaned processes of the VM
// are always killed, even when its state file is corrupt.
#include <iostream>

#include "cli/command.h"
#include "cli/for_each_vm.h"
#include "runner/lifecycle.h"

namespace mcpvm::cli {
namespace {

struct RmOptions {
  bool force = false;
  std::vector<std::string> names;
};

int run_rm(const RmOptions& o) {
  return for_each_vm(o.names, "removing", [&](const std::string& name) {
    runner::remove_vm(name, o.force);
    std::cout << name << "\n";
  });
}

const Command kRm{"rm", "Remove VMs", 46, [](CLI::App& app) {
                    auto o = std::make_shared<RmOptions>();
                    app.add_flag("-f,--force", o->force, "Kill running VMs first");
                    app.add_option("names", o->names, "VM names")->required();
                    return [o] { return run_rm(*o); };
                  }};

}  // namespace
}  // namespace mcpvm::cli
