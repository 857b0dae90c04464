#include "cli/client_registry.h"

#include <sys/stat.h>

#include <cstdlib>

#include "mcp/client_file.h"
#include "mcp/endpoint_url.h"
#include "runner/endpoint_token.h"
#include "runner/lifecycle.h"
#include "runner/names.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace mcpvm::cli {

namespace fs = std::filesystem;

namespace {

fs::path registrations_file(const runner::VmDir& dir) {
  return dir.root() / "clients.json";
}

std::vector<std::string> read_registrations(const runner::VmDir& dir) {
  std::error_code ec;
  if (!fs::exists(registrations_file(dir), ec)) return {};
  auto doc = parse_untrusted_json(read_file(registrations_file(dir), 1 << 16));
  std::vector<std::string> ids;
  if (doc.is_array())
    for (const auto& id : doc)
      if (id.is_string()) ids.push_back(id);
  return ids;
}

void write_registrations(const runner::VmDir& dir, const std::vector<std::string>& ids) {
  write_file_atomic(registrations_file(dir), nlohmann::json(ids).dump() + "\n");
}

// Replaces the client's file with `text`: the old one kept as FILE.mcpvm-backup, the new one written
// atomically with the old file's mode (0600 for a new file). A symlinked file (dotfile managers) is
// written where the link points.
void replace_client_file(const fs::path& path, const std::string& old_text, const std::string& text,
                         bool existed) {
  fs::path target = existed ? fs::canonical(path) : path;
  mode_t mode = 0600;
  struct stat st {};
  if (existed && ::stat(target.c_str(), &st) == 0) mode = st.st_mode & 07777;
  if (existed) write_file_atomic(target.string() + ".mcpvm-backup", old_text, 0600);
  write_file_atomic(target, text, mode);
}

}  // namespace

fs::path home_dir() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) fail("HOME is not set: cannot find the MCP clients' configuration files");
  return home;
}

fs::path client_config_file(const mcp::McpClient& client) {
  return home_dir() / client.config_path;
}

mcp::ServerEntry server_entry_of(const std::string& name) {
  if (!runner::is_valid_vm_name(name) || !runner::VmDir::for_name(name).exists())
    fail("no such VM: {} (see mcpvm ls -a)", name);
  runner::VmDir dir = runner::VmDir::for_name(name);
  runner::VmListing vm = runner::describe_vm(name);
  auto url = vm.state ? mcp::parse_endpoint_url(vm.state->endpoint) : std::nullopt;
  if (!url) fail("VM {} has no MCP endpoint yet: start it first (mcpvm start {})", name, name);
  mcp::ServerEntry entry{name, url->streamable_http(), "", runner::own_executable().string()};
  if (dir.load_config().mcp.auth == runner::EndpointAuth::bearer) {
    auto token = runner::read_endpoint_token(dir);
    if (!token)
      fail("VM {}: its endpoint token is missing ({}); start it to make one", name,
           dir.endpoint_token_file().string());
    entry.token = *token;
  }
  return entry;
}

void register_with_client(const mcp::McpClient& client, const std::string& vm_name) {
  mcp::ServerEntry entry = server_entry_of(vm_name);
  fs::path path = client_config_file(client);
  std::error_code ec;
  if (!fs::is_directory(path.parent_path(), ec))
    fail("{}: {} does not exist (is {} installed?); `mcpvm client config {} --for {}` prints the entry",
         client.id, path.parent_path().string(), client.title, vm_name, client.id);
  bool existed = fs::exists(path, ec);
  // The entry carries the VM's bearer token: never into a file other users can read.
  struct stat st {};
  // (Claude Desktop's and Codex's entries run `mcpvm proxy stdio` and carry no token.)
  bool carries_token =
      !entry.token.empty() && mcp::render_client_config(client, entry).find(entry.token) != std::string::npos;
  if (existed && carries_token && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
    fail(
        "{}: {} is readable by other users (mode {:o}): the VM's token would be shared with them; run chmod "
        "600 "
        "{} and register again",
        client.id, path.string(), st.st_mode & 0777, path.string());
  std::string old_text = existed ? read_file(path, 64u << 20) : "";
  std::string text =
      with_context(path.string(), [&] { return mcp::client_file_with_server(client, old_text, entry); });
  if (text != old_text) replace_client_file(path, old_text, text, existed);
  runner::VmDir dir = runner::VmDir::for_name(vm_name);
  auto ids = read_registrations(dir);
  if (std::find(ids.begin(), ids.end(), client.id) == ids.end()) {
    ids.emplace_back(client.id);
    write_registrations(dir, ids);
  }
}

void unregister_from_client(const mcp::McpClient& client, const std::string& vm_name) {
  fs::path path = client_config_file(client);
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::string old_text = read_file(path, 64u << 20);
    std::string text = with_context(
        path.string(), [&] { return mcp::client_file_without_server(client, old_text, vm_name); });
    if (text != old_text) replace_client_file(path, old_text, text, true);
  }
  runner::VmDir dir = runner::VmDir::for_name(vm_name);
  if (!dir.exists()) return;
  auto ids = read_registrations(dir);
  auto it = std::find(ids.begin(), ids.end(), client.id);
  if (it != ids.end()) {
    ids.erase(it);
    write_registrations(dir, ids);
  }
}

std::vector<const mcp::McpClient*> registered_clients(const runner::VmDir& dir) {
  std::vector<const mcp::McpClient*> out;
  for (const auto& id : read_registrations(dir))
    if (const auto* c = mcp::find_mcp_client(id)) out.push_back(c);
  return out;
}

void refresh_registered_clients(const std::string& vm_name) {
  for (const mcp::McpClient* client : registered_clients(runner::VmDir::for_name(vm_name))) {
    try {
      register_with_client(*client, vm_name);
    } catch (const Error& e) {
      log::warn("{} keeps the old token of {}: {}", client_config_file(*client).string(), vm_name, e.what());
    }
  }
}

}  // namespace mcpvm::cli
