// `mcpvm client ls | config NAME --for CLIENT | register CLIENT NAME... | unregister CLIENT NAME...`: which
// MCP clients this machine has, the snippet that declares a VM's server in a client's own configuration
// file (mcp/client_config.h), and writing it there (cli/client_registry.h).
#include <filesystem>
#include <iostream>

#include "cli/client_registry.h"
#include "cli/command.h"
#include "mcp/client_config.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

std::string client_ids() {
  std::string ids;
  for (const auto& c : mcp::mcp_clients()) ids += (ids.empty() ? "" : ", ") + std::string(c.id);
  return ids;
}

int run_client_ls(bool as_json) {
  auto home = home_dir();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : mcp::mcp_clients()) {
    auto path = client_config_file(c);
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

const mcp::McpClient& client_or_fail(const std::string& id) {
  const mcp::McpClient* client = mcp::find_mcp_client(id);
  if (!client) fail("unknown client {:?} (supported: {})", id, client_ids());
  return *client;
}

int run_client_config(const std::string& name, const std::string& client_id) {
  const mcp::McpClient& client = client_or_fail(client_id);
  std::cout << mcp::render_client_config(client, server_entry_of(name)) << std::flush;
  return 0;
}

int run_client_register(const std::string& client_id, const std::vector<std::string>& names, bool add) {
  const mcp::McpClient& client = client_or_fail(client_id);
  for (const auto& name : names) {
    if (add)
      register_with_client(client, name);
    else
      unregister_from_client(client, name);
    std::cout << fmt::format("{} {} {} ({})\n", add ? "registered" : "unregistered", name,
                             add ? "with" : "from", client_config_file(client).string());
  }
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
      auto names = std::make_shared<std::vector<std::string>>();
      auto* reg =
          app.add_subcommand("register", "Add VMs to CLIENT's configuration file (other entries are kept)");
      reg->add_option("client", *client, "The client: " + client_ids())->required();
      reg->add_option("names", *names, "VM names")->required();
      auto* unreg = app.add_subcommand("unregister", "Take VMs out of CLIENT's configuration file");
      unreg->add_option("client", *client, "The client")->required();
      unreg->add_option("names", *names, "VM names")->required();
      auto* config = app.add_subcommand(
          "config", "Print the snippet that declares VM NAME in CLIENT's configuration file (merge it in)");
      config->add_option("name", *name, "VM name")->required();
      config->add_option("--for", *client, "The client: " + client_ids())->required();
      app.footer(
          "Examples:\n"
          "  mcpvm client ls\n"
          "  mcpvm client config fetch --for vscode     # the \"servers\" entry, with the endpoint's token\n"
          "  mcpvm client config fetch --for codex      # a stdio entry: mcpvm proxy stdio fetch\n"
          "  mcpvm client register claude-code fetch    # edits ~/.claude.json (backup: .mcpvm-backup)\n"
          "The snippets carry the VM's bearer token where the client takes headers: keep them private.");
      return [ls, reg, unreg, as_json, name, client, names]() -> int {
        if (ls->parsed()) return run_client_ls(*as_json);
        if (reg->parsed()) return run_client_register(*client, *names, true);
        if (unreg->parsed()) return run_client_register(*client, *names, false);
        return run_client_config(*name, *client);
      };
    }};

}  // namespace
}  // namespace mcpvm::cli
