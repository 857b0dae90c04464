// `mcpvm proxy stdio URL`: a stdio front for MCP clients that can only spawn processes.
#include "cli/command.h"
#include "mcp/stdio_proxy.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

struct ProxyOptions {
  std::string mode;
  std::string target;
  bool sse = false;
};

int run_proxy(const ProxyOptions& o) {
  if (o.mode != "stdio") fail("unknown proxy mode '{}' (supported: stdio)", o.mode);
  if (o.target.rfind("http://", 0) != 0)
    fail("'{}' is not an endpoint URL; `mcpvm proxy stdio NAME` comes with `mcpvm run` (use the URL for now)",
         o.target);
  return mcp::run_stdio_proxy({.url = o.target, .legacy_sse = o.sse});
}

const Command kProxy{
    "proxy", "Expose an MCP endpoint on stdin/stdout for clients that spawn processes", 610,
    [](CLI::App& app) {
      auto o = std::make_shared<ProxyOptions>();
      app.footer("Example: mcpvm proxy stdio http://127.0.0.1:41234/mcp");
      app.add_option("mode", o->mode, "Front to offer: stdio")->required();
      app.add_option("target", o->target, "Endpoint URL (http://127.0.0.1:PORT/mcp or /sse)")->required();
      app.add_flag("--sse", o->sse, "Speak the legacy SSE transport to the endpoint");
      return [o] { return run_proxy(*o); };
    }};

}  // namespace
}  // namespace mcpvm::cli
