// Internal: message links between the endpoint and an MCP peer (Boost.Asio based; only server.cpp,
// http_upstream.cpp and stdio_proxy.cpp include this).
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "mcp/endpoint.h"

namespace mcpvm::mcp {

// Receives what a link reads.
class MessagePeer {
 public:
  virtual ~MessagePeer() = default;
  virtual void on_message(json message) = 0;
  // Bytes that were not an acceptable JSON-RPC message; `why` says what was wrong (for the log).
  virtual void on_junk(std::string_view line, std::string_view why) = 0;
  virtual void on_closed(const std::string& reason) = 0;
};

// A link to an MCP peer: send() queues a message; what arrives goes to the MessagePeer.
class UpstreamLink {
 public:
  virtual ~UpstreamLink() = default;
  virtual void start() = 0;
  virtual void send(const json& message) = 0;
  // Cancels what the link does; operations already in flight end soon after (on the event loop).
  virtual void stop() = 0;
  // No operation of the link is in flight any more: after stop(), it may now be destroyed. (Destroying a
  // link whose coroutines are suspended would let them resume into freed memory.)
  virtual bool idle() const = 0;
};

// Newline-delimited JSON-RPC over two fds (dup()ed; the caller keeps its own).
std::unique_ptr<UpstreamLink> make_stdio_link(boost::asio::io_context& io, const StdioUpstream& fds,
                                              size_t max_line, MessagePeer& peer);
// One MCP client session to an HTTP server (streamable HTTP or legacy SSE).
std::unique_ptr<UpstreamLink> make_http_link(boost::asio::io_context& io, const HttpUpstream& config,
                                             size_t max_message, MessagePeer& peer);

}  // namespace mcpvm::mcp
