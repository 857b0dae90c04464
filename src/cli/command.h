// How CLI subcommands plug in. Each subcommand lives in its own cmd_<name>.cpp and registers itself:
//
//   static mcpvm::cli::Command pull_cmd{"pull", "Pull an image from a registry", 20, [](CLI::App& app) {
//     auto opts = std::make_shared<PullOptions>();
//     app.add_option("ref", opts->ref, "Image reference")->required();
//     return [opts] { return run_pull(*opts); };   // the action; returns the process exit code
//   }};
//
// The `order` field sorts `mcpvm --help`. Actions throw mcpvm::Error for failures (printed as
// "mcpvm: <message>", exit 1) or return an exit code (e.g. the server's, for `run --foreground`).
#pragma once

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mcpvm::cli {

using Action = std::function<int()>;

struct Command {
  using Setup = std::function<Action(CLI::App&)>;
  Command(std::string name, std::string summary, int order, Setup setup);

  std::string name;
  std::string summary;
  int order;
  Setup setup;
};

// All registered commands (static registration; the CLI's sources are linked into the executable).
std::vector<const Command*>& registered_commands();

// Global flags shared by every command.
struct GlobalOptions {
  bool debug = false;
};
const GlobalOptions& global_options();

// Printing helpers: machine output to stdout, human messages to stderr.
void print_json(const nlohmann::json& value);

}  // namespace mcpvm::cli
