// `mcpvm start NAME...`: boots stopped/exited VMs again from their saved config (also after a host reboot).
#include <iostream>

#include "cli/command.h"
#include "cli/for_each_vm.h"
#include "runner/lifecycle.h"

namespace mcpvm::cli {
namespace {

int run_start(const std::vector<std::string>& names) {
  return for_each_vm(names, "starting", [](const std::string& name) {
    auto r = runner::start_vm(name);
    std::cout << r.name << (r.state.endpoint.empty() ? "" : "  " + r.state.endpoint) << "\n";
  });
}

const Command kStart{"start", "Start stopped VMs again", 44, [](CLI::App& app) {
                       auto names = std::make_shared<std::vector<std::string>>();
                       app.add_option("names", *names, "VM names")->required();
                       return [names] { return run_start(*names); };
                     }};

}  // namespace
}  // namespace mcpvm::cli
