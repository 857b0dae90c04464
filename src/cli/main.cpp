// mcpvm: run MCP servers from OCI images in microVMs. This file only wires the registered subcommands
// (cmd_*.cpp) into CLI11 and turns errors into one line on stderr and an exit code.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "util/error.h"
#include "util/log.h"

namespace mcpvm::cli {

Command::Command(std::string n, std::string s, int o, Setup st)
    : name(std::move(n)), summary(std::move(s)), order(o), setup(std::move(st)) {
  registered_commands().push_back(this);
}

std::vector<const Command*>& registered_commands() {
  static std::vector<const Command*> commands;
  return commands;
}

namespace {
GlobalOptions g_options;
}

const GlobalOptions& global_options() {
  return g_options;
}

void print_json(const nlohmann::json& value) {
  std::cout << value.dump(2) << std::endl;
}

int main_impl(int argc, char** argv) {
  CLI::App app{
      "mcpvm runs MCP servers packaged as OCI images inside their own microVMs and gives MCP clients a\n"
      "local URL to talk to them.\n\n"
      "Examples:\n"
      "  mcpvm pull 127.0.0.1:5000/mcp/fetch:1      fetch an image into the local store\n"
      "  mcpvm import ./image.tar --tag demo:1     load an OCI layout or docker-archive\n"
      "  mcpvm run --name fetch demo:1             boot it detached; prints the MCP endpoint URL\n"
      "  mcpvm run --foreground demo:1             or talk to the server over this terminal's stdio\n"
      "  mcpvm ls                                  running VMs, their status and endpoints\n"
      "  mcpvm logs -f fetch / exec -it fetch -- sh  watch it, debug inside the guest\n"
      "  mcpvm rm -f fetch                         stop and remove it, whatever state it is in\n\n"
      "Data lives in $MCPVM_HOME (default ~/.local/share/mcpvm). MCPVM_ACCEL=auto|kvm|tcg picks the\n"
      "accelerator. `mcpvm COMMAND --help` shows every flag of a command.",
      "mcpvm"};
  app.set_version_flag("--version", "mcpvm 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_flag("--debug", g_options.debug, "Verbose logging (same as MCPVM_LOG=debug)");

  auto commands = registered_commands();
  std::stable_sort(commands.begin(), commands.end(),
                   [](const Command* a, const Command* b) { return a->order < b->order; });
  Action chosen;
  for (const Command* c : commands) {
    CLI::App* sub = app.add_subcommand(c->name, c->summary);
    Action action = c->setup(*sub);
    // docker's grammar: a repeatable option takes exactly one value per occurrence, so in
    // `run -e A=1 IMAGE` the image is a positional argument, not a second value of -e.
    for (CLI::Option* opt : sub->get_options()) {
      if (!opt->get_positional() && opt->get_items_expected_max() > 1) opt->allow_extra_args(false);
    }
    sub->callback([&chosen, action] { chosen = action; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (g_options.debug) log::set_level(log::Level::debug);
  if (!chosen) return 0;
  try {
    return chosen();
  } catch (const Error& e) {
    std::fprintf(stderr, "mcpvm: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcpvm: internal error: %s\n", e.what());
    return 1;
  }
}

}  // namespace mcpvm::cli

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return mcpvm::cli::main_impl(argc, argv);
}
