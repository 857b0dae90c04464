// `mcpvm start [--new-port] NAME...`: boots stopped/exited VMs again from their saved config (also after a
// host reboot), on the port of their URL, with a new endpoint token (clients registered with
// `client register` get it written into their files).
#include <iostream>

#include "cli/client_registry.h"
#include "cli/command.h"
#include "cli/for_each_vm.h"
#include "runner/lifecycle.h"

namespace mcpvm::cli {
namespace {

struct StartOptions {
  bool new_port = false;
  std::vector<std::string> names;
};

int run_start(const StartOptions& o) {
  return for_each_vm(o.names, "starting", [&](const std::string& name) {
    auto r = runner::start_vm(name, o.new_port);
    refresh_registered_clients(name);
    std::cout << r.name << (r.state.endpoint.empty() ? "" : "  " + r.state.endpoint) << "\n";
  });
}

const Command kStart{"start", "Start stopped VMs again", 44, [](CLI::App& app) {
                       auto o = std::make_shared<StartOptions>();
                       app.add_flag("--new-port", o->new_port,
                                    "Serve the endpoint on a new port when another process took the "
                                    "VM's (its URL changes; registered clients are updated)");
                       app.add_option("names", o->names, "VM names")->required();
                       return [o] { return run_start(*o); };
                     }};

}  // namespace
}  // namespace mcpvm::cli
