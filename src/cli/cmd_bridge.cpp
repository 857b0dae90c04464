// `mcpvm bridge -- CMD ARGS...`: serves a stdio MCP server that runs ON THE HOST (not sandboxed, no VM)
// through mcpvm's MCP endpoint. For development and benchmarks of the endpoint itself.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "mcp/endpoint.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/process.h"

namespace mcpvm::cli {
namespace {

struct BridgeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int timeout_seconds = 300;
  int read_timeout_seconds = 30;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> command;
  std::string upstream_url;
  std::string upstream_transport = "streamable-http";
};

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("creating a pipe for the MCP server's stdio");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Blocks SIGINT/SIGTERM (taken by a watcher thread instead); call before any thread exists.
sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

mcp::EndpointConfig endpoint_config(const BridgeOptions& o, mcp::Upstream upstream) {
  return {.host = o.host == "localhost" ? "127.0.0.1" : o.host,
          .port = o.port,
          .upstream = std::move(upstream),
          .request_timeout = std::chrono::seconds(o.timeout_seconds),
          .allowed_origins = o.allowed_origins,
          .allowed_hosts = o.allowed_hosts,
          .read_timeout = std::chrono::seconds(o.read_timeout_seconds)};
}

void announce(const mcp::Endpoint& endpoint, const std::string& what) {
  std::cout << endpoint.url() << std::endl;
  std::cerr << fmt::format("mcpvm bridge: serving {}\n  streamable HTTP: {}\n  SSE:             {}\n", what,
                           endpoint.url(), endpoint.sse_url());
}

// Forwards to an MCP server already listening on HTTP (how the runner reaches sse/streamable-http guests).
int run_http_bridge(const BridgeOptions& o) {
  if (!o.command.empty()) fail("give either a command or --upstream-url, not both");
  auto transport = o.upstream_transport == "sse" ? mcp::HttpUpstream::Transport::sse
                                                 : mcp::HttpUpstream::Transport::streamable_http;
  sigset_t stop_signals = block_stop_signals();
  mcp::Endpoint endpoint(endpoint_config(o, mcp::parse_http_url(o.upstream_url, transport)));
  announce(endpoint, fmt::format("{} ({})", o.upstream_url, o.upstream_transport));
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    endpoint.stop();
  });
  endpoint.run();
  watcher.join();
  return 0;
}

int run_bridge(const BridgeOptions& o) {
  if (!o.upstream_url.empty()) return run_http_bridge(o);
  if (o.command.empty()) fail("give the MCP server command after --, or --upstream-url");
  if (o.host != "127.0.0.1" && o.host != "::1" && o.host != "localhost")
    log::warn("bridge: listening on {} exposes an unsandboxed host process beyond this machine", o.host);
  auto [stdin_read, stdin_write] = make_pipe();
  auto [stdout_read, stdout_write] = make_pipe();

  sigset_t stop_signals = block_stop_signals();

  SpawnOptions spawn;
  spawn.fds = {{stdin_read.get(), 0}, {stdout_write.get(), 1}};
  Subprocess server = with_context(fmt::format("starting {}", join_argv(o.command)),
                                   [&] { return Subprocess::spawn(o.command, spawn); });
  stdin_read.reset();
  stdout_write.reset();

  mcp::Endpoint endpoint(endpoint_config(o, mcp::StdioUpstream{stdout_read.get(), stdin_write.get()}));
  stdout_read.reset();
  stdin_write.reset();
  announce(endpoint, fmt::format("`{}` (a host process, NOT sandboxed)", join_argv(o.command)));

  std::atomic<bool> done{false};
  int exit_code = 0;
  std::thread watcher([&] {
    timespec tick{0, 100'000'000};
    while (!done) {
      int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig > 0) {
        exit_code = 128 + sig;
        break;
      }
      if (auto status = server.poll()) {
        std::cerr << fmt::format("mcpvm bridge: the MCP server exited ({})\n", status->describe());
        exit_code = status->shell_code() == 0 ? 0 : status->shell_code();
        // Let the endpoint answer open requests with errors before it goes.
        std::this_thread::sleep_for(std::chrono::seconds(1));
        break;
      }
    }
    endpoint.stop();
  });
  endpoint.run();
  done = true;
  watcher.join();
  if (server.running()) server.terminate(std::chrono::seconds(3));
  return exit_code;
}

const Command kBridge{
    "bridge", "Serve a stdio MCP server running on the host (NOT sandboxed; for development)", 600,
    [](CLI::App& app) {
      auto o = std::make_shared<BridgeOptions>();
      app.footer(
          "Runs CMD directly on the host, without a VM or any sandbox, and serves it over streamable HTTP\n"
          "(/mcp) and SSE (/sse). Meant for developing and benchmarking mcpvm's MCP endpoint.\n"
          "Prints the endpoint URL on stdout. Example: mcpvm bridge --port 8080 -- npx server-everything");
      app.add_option("--host", o->host, "Listen address (loopback by default)");
      app.add_option("--port", o->port, "Listen port (0: any free port)");
      app.add_option("--timeout", o->timeout_seconds, "Seconds before an unanswered request gets an error")
          ->check(CLI::PositiveNumber);
      app.add_option("--read-timeout", o->read_timeout_seconds,
                     "Seconds a client has to send a whole request")
          ->check(CLI::PositiveNumber);
      app.add_option("--allow-origin", o->allowed_origins, "Extra allowed browser Origin (repeatable)");
      app.add_option(
          "--allow-host", o->allowed_hosts,
          "Extra accepted Host header name, for --host beyond loopback (repeatable; loopback names "
          "are always accepted)");
      app.add_option("--upstream-url", o->upstream_url,
                     "Instead of a command: forward to an MCP server at this http://127.0.0.1 URL");
      app.add_option("--upstream-transport", o->upstream_transport, "Transport of --upstream-url")
          ->check(CLI::IsMember({"streamable-http", "sse"}));
      app.add_option("command", o->command, "The MCP server command and its arguments (after --)");
      return [o] { return run_bridge(*o); };
    }};

}  // namespace
}  // namespace mcpvm::cli
