// mcp::Endpoint: the MCP front clients talk to. It serves streamable HTTP (/mcp) and legacy SSE
// (/sse + /messages) plus /health on a loopback address, and bridges every client to one upstream MCP
// server: a stdio server reached through a pair of fds (the VM's stdio channel, or a host process for
// `mcpvm bridge`), or an HTTP server (sse or streamable-http) behind a forwarded socket.
//
//   mcp::Endpoint ep({.port = 0, .upstream = mcp::StdioUpstream{out_fd, in_fd}});
//   std::thread t([&] { ep.run(); });     // ep.url() is known once the constructor returns
//   ...; ep.stop(); t.join();
//
// A runner keeps one endpoint (one listening socket) for its whole life and swaps the server behind it
// at each boot of its VM: attach_upstream() when a boot's channel exists, detach_upstream() when the boot
// ends. In between, every route answers 503 (a JSON-RPC error body and Retry-After) once the Host and
// token checks passed, and sessions of the previous server are unknown (404: clients initialize again).
// The port therefore stays bound across restarts: no other local process can take the URL meanwhile.
//
// Threads: run() is the endpoint's event-loop thread; it alone touches the listener, the hub, the links
// and every connection. stop(), status(), attach_upstream() and detach_upstream() may be called from any
// other thread (they post to the loop, and the last two wait for it, so never from the loop itself).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mcp/hub.h"

namespace mcpvm::mcp {

// A stdio MCP server: newline-delimited JSON-RPC. The endpoint dup()s both fds; the caller keeps its own.
struct StdioUpstream {
  int read_fd = -1;   // the server's stdout
  int write_fd = -1;  // the server's stdin
};

// An MCP server listening on HTTP: at host:port, or (a server in a guest) behind a Unix socket the
// runner's user network forwards to the guest's port.
struct HttpUpstream {
  enum class Transport { sse, streamable_http };
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string unix_socket;  // when set, connect here instead of host:port (Host header: localhost)
  Transport transport = Transport::streamable_http;
  std::string path;  // default "/mcp" (streamable-http) or "/sse" (sse)
  // Sent as "Authorization: Bearer <token>" on every request when set (an mcpvm endpoint's token).
  std::string bearer_token;
};

using Upstream = std::variant<StdioUpstream, HttpUpstream>;

// Parses "http://HOST:PORT/path" (plain HTTP; HOST an IP address or localhost). Throws mcpvm::Error.
HttpUpstream parse_http_url(const std::string& url, HttpUpstream::Transport transport);

struct EndpointConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the OS picks a free port
  // The server behind the endpoint; nullopt: none yet (503 on every route until attach_upstream()).
  std::optional<Upstream> upstream;
  std::chrono::milliseconds request_timeout{std::chrono::minutes(5)};
  size_t max_message_bytes = 32u << 20;      // request bodies and upstream lines; 16 MiB messages must pass
  std::vector<std::string> allowed_origins;  // besides loopback origins
  // Host header names accepted besides loopback ones and the listen address (DNS-rebinding protection).
  std::vector<std::string> allowed_hosts;
  // When set, every request must carry "Authorization: Bearer <token>" (mcp/bearer_auth.h); others get
  // 401. Empty: no authentication (`mcpvm bridge`, `run --endpoint-auth none`).
  std::string bearer_token;
  std::chrono::milliseconds keepalive_interval{std::chrono::seconds(15)};  // SSE comments on idle streams
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};  // a request must arrive in this time
  ToolPolicy tools;  // which tools clients see and may call (mcp/tool_policy.h)
  // One record per client request when it ends, called on the endpoint's thread (hub.h AuditRecord).
  std::function<void(const AuditRecord&)> audit;
  bool audit_arguments = false;
};

struct EndpointStatus {
  std::string url;
  bool running = false;
  bool attached = false;  // a server is behind the endpoint (else every route answers 503)
  HubStatus hub;
};
nlohmann::json to_json(const EndpointStatus& status);

class Endpoint {
 public:
  // Binds the listening socket (throws mcpvm::Error if it cannot); serving starts with run().
  explicit Endpoint(EndpointConfig config);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  uint16_t port() const;
  std::string url() const;      // http://HOST:PORT/mcp
  std::string sse_url() const;  // http://HOST:PORT/sse
  // Serves until stop(); runs the whole endpoint on the calling thread.
  void run();
  // Thread-safe; run() returns soon after. Open streams are closed.
  void stop();
  // Thread-safe snapshot (refreshed several times a second while running).
  EndpointStatus status() const;

  // Puts `upstream` behind the endpoint, replacing the current server if there is one (its open requests
  // fail and its sessions end, Hub::end_generation). Returns once requests reach the new server. Throws
  // Error if the link cannot be made, or if run() ended meanwhile. Thread-safe.
  void attach_upstream(Upstream upstream);
  // Takes the server away (`reason` goes into the errors of its open requests): until the next
  // attach_upstream(), every route answers 503 after authentication. Returns once that is so.
  // Thread-safe; a no-op without a server.
  void detach_upstream(const std::string& reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcpvm::mcp
