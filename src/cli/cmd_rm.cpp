// `mcpvm rm [-f] NAME...`: removes VMs; -f stops (kills) running ones first. Orphaned processes of the VM
// are always killed, even when its state file is corrupt.
#include <iostream>

#include "cli/client_registry.h"
#include "cli/command.h"
#include "cli/for_each_vm.h"
#include "runner/lifecycle.h"
#include "runner/names.h"

namespace mcpvm::cli {
namespace {

struct RmOptions {
  bool force = false;
  std::vector<std::string> names;
};

// Entries `client register` / `run --register` wrote for the VM go with it; a client file that cannot be
// edited any more only gets a warning (the VM is removed all the same).
void unregister_everywhere(const std::string& name) {
  if (!runner::is_valid_vm_name(name) || !runner::VmDir::for_name(name).exists()) return;
  for (const auto* client : registered_clients(runner::VmDir::for_name(name))) {
    try {
      unregister_from_client(*client, name);
    } catch (const std::exception& e) {
      std::cerr << fmt::format("warning: {}: could not take {} out of {}'s configuration: {}\n", name, name,
                               client->id, e.what());
    }
  }
}

int run_rm(const RmOptions& o) {
  return for_each_vm(o.names, "removing", [&](const std::string& name) {
    if (o.force || !runner::is_active(runner::describe_vm(name).status.status)) unregister_everywhere(name);
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
