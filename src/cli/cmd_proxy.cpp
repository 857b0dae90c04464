// `mcpvm proxy stdio NAME|URL`: a stdio front for MCP clients that can only spawn processes.
#include <cstdlib>

#include "cli/command.h"
#include "mcp/endpoint_url.h"
#include "mcp/stdio_proxy.h"
#include "runner/endpoint_token.h"
#include "runner/lifecycle.h"
#include "runner/names.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

struct ProxyOptions {
  std::string mode;
  std::string target;
  bool sse = false;
};

struct Target {
  std::string url;
  std::string bearer_token;  // empty: the endpoint takes no credential
};

// The endpoint URL and token of the VM called `name`, from its state (reconciled: a VM that is not
// serving is an error that says what to do).
Target endpoint_of_vm(const std::string& name, bool sse) {
  if (!runner::is_valid_vm_name(name) || !runner::VmDir::for_name(name).exists())
    fail("'{}' is neither an endpoint URL (http://127.0.0.1:PORT/mcp) nor a VM (see mcpvm ls -a)", name);
  runner::VmListing vm = runner::describe_vm(name);
  if (!vm.state)
    fail("VM {}: its state cannot be read ({}); see mcpvm inspect {}", name, vm.status.note, name);
  using runner::Status;
  Status s = vm.status.status;
  if (s != Status::running && s != Status::starting && s != Status::restarting)
    fail("VM {} is {}: nothing serves its endpoint (mcpvm start {})", name, runner::to_string(s), name);
  std::string url = vm.state->endpoint;
  if (url.empty()) fail("VM {} has no MCP endpoint yet (status {})", name, runner::to_string(s));
  auto endpoint = mcp::parse_endpoint_url(url);
  if (!endpoint) fail("VM {}: its state names no endpoint URL ({:?})", name, url);
  runner::VmDir dir = runner::VmDir::for_name(name);
  std::string token;
  if (dir.load_config().mcp.auth == runner::EndpointAuth::bearer) {
    auto saved = runner::read_endpoint_token(dir);
    if (!saved)
      fail("VM {}: its endpoint token is missing ({}); restart it to make one", name,
           dir.endpoint_token_file().string());
    token = *saved;
  }
  return {sse ? endpoint->sse() : endpoint->streamable_http(), token};
}

// A URL target's token comes from MCPVM_ENDPOINT_TOKEN (never from argv, where other users can read it).
Target endpoint_of_url(const std::string& url) {
  const char* token = std::getenv("MCPVM_ENDPOINT_TOKEN");
  return {url, token ? token : ""};
}

int run_proxy(const ProxyOptions& o) {
  if (o.mode != "stdio") fail("unknown proxy mode '{}' (supported: stdio)", o.mode);
  Target t = o.target.rfind("http://", 0) == 0 ? endpoint_of_url(o.target) : endpoint_of_vm(o.target, o.sse);
  return mcp::run_stdio_proxy({.url = t.url, .bearer_token = t.bearer_token, .legacy_sse = o.sse});
}

const Command kProxy{
    "proxy", "Expose an MCP endpoint on stdin/stdout for clients that spawn processes", 610,
    [](CLI::App& app) {
      auto o = std::make_shared<ProxyOptions>();
      app.footer(
          "Examples:\n"
          "  mcpvm proxy stdio fetch                          # the endpoint of VM \"fetch\"\n"
          "  mcpvm proxy stdio http://127.0.0.1:41234/mcp\n"
          "A VM's endpoint token is sent for you; for a URL, set MCPVM_ENDPOINT_TOKEN.");
      app.add_option("mode", o->mode, "Front to offer: stdio")->required();
      app.add_option("target", o->target, "VM name, or endpoint URL (http://127.0.0.1:PORT/mcp or /sse)")
          ->required();
      app.add_flag("--sse", o->sse, "Speak the legacy SSE transport to the endpoint");
      return [o] { return run_proxy(*o); };
    }};

}  // namespace
}  // namespace mcpvm::cli
