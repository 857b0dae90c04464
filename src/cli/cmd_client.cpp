// `mcpvm client ls` and `mcpvm client config NAME --for CLIENT`: which MCP clients this machine has, and the
// snippet that declares a VM's server in a client's own configuration file (mcp/client_config.h).
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "mcp/client_config.h"
#include "mcp/endpoint_url.h"
#include "runner/endpoint_token.h"
#include "runner/lifecycle.h"
#include "runner/names.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

std::filesystem::path home_dir() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) fail("HOME is not set: cannot find the MCP clients' configuration files");
  return home;
}

// The absolute path of this mcpvm, for clients that spawn `mcpvm proxy stdio NAME` (they may not have
// our PATH).
std::string mcpvm_executable() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot locate the mcpvm binary (/proc/self/exe): {}", ec.message());
  return exe.string();
}

std::string client_ids() {
  std::string ids;
  for (const auto& c : mcp::mcp_clients()) ids += (ids.empty() ? "" : ", ") + std::string(c.id);
  return ids;
}

int run_client_ls(bool as_json) {
  auto home = home_dir();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : mcp::mcp_clients()) {
    auto path = home / c.config_path;
    std::error_code ec;
    // A client counts as installed when its configuration file, or the directory it lives in, exists.
    bool installed = std::filesystem::exists(path, ec) ||
                     (path.parent_path() != home && std::filesystem::is_directory(path.parent_path(), ec));
    out.push_back(
        {{"client", c.id}, {"title", c.title}, {"config", path.string()}, {"installed", installed}});
  }
  if (as_json) {
    print_json(out);
    return 0;
  }
  std::cout << fmt::format("{:<16} {:<10} {}\n", "CLIENT", "INSTALLED", "CONFIG");
  for (const auto& c : out)
    std::cout << fmt::format("{:<16} {:<10} {}\n", c["client"].get<std::string>(),
                             c["installed"].get<bool>() ? "yes" : "no", c["config"].get<std::string>());
  return 0;
}

int run_client_config(const std::string& name, const std::string& client_id) {
  const mcp::McpClient* client = mcp::find_mcp_client(client_id);
  if (!client) fail("unknown client {:?} (supported: {})", client_id, client_ids());
  if (!runner::is_valid_vm_name(name) || !runner::VmDir::for_name(name).exists())
    fail("no such VM: {} (see mcpvm ls -a)", name);
  runner::VmDir dir = runner::VmDir::for_name(name);
  runner::VmListing vm = runner::describe_vm(name);
  auto url = vm.state ? mcp::parse_endpoint_url(vm.state->endpoint) : std::nullopt;
  if (!url) fail("VM {} has no MCP endpoint yet: start it first (mcpvm start {})", name, name);
  mcp::ServerEntry entry{name, url->streamable_http(), "", mcpvm_executable()};
  if (dir.load_config().mcp.auth == runner::EndpointAuth::bearer) {
    auto token = runner::read_endpoint_token(dir);
    if (!token)
      fail("VM {}: its endpoint token is missing ({}); start it to make one", name,
           dir.endpoint_token_file().string());
    entry.token = *token;
  }
  std::cout << mcp::render_client_config(*client, entry) << std::flush;
  return 0;
}

const Command kClient{
    "client", "Show MCP clients and the configuration that connects them to a VM", 620, [](CLI::App& app) {
      app.require_subcommand(1);
      auto as_json = std::make_shared<bool>(false);
      auto name = std::make_shared<std::string>();
      auto client = std::make_shared<std::string>();
      auto* ls = app.add_subcommand("ls", "Supported MCP clients and whether this machine has them");
      ls->add_flag("--json", *as_json, "JSON output");
      auto* config = app.add_subcommand(
          "config", "Print the snippet that declares VM NAME in CLIENT's configuration file (merge it in)");
      config->add_option("name", *name, "VM name")->required();
      config->add_option("--for", *client, "The client: " + client_ids())->required();
      app.footer(
          "Examples:\n"
          "  mcpvm client ls\n"
          "  mcpvm client config fetch --for vscode     # the \"servers\" entry, with the endpoint's token\n"
          "  mcpvm client config fetch --for codex      # a stdio entry: mcpvm proxy stdio fetch\n"
          "The snippets carry the VM's bearer token where the client takes headers: keep them private.");
      return [ls, as_json, name, client]() -> int {
        if (ls->parsed()) return run_client_ls(*as_json);
        return run_client_config(*name, *client);
      };
    }};

}  // namespace
}  // namespace mcpvm::cli
