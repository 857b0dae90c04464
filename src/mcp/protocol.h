// MCP transport rules that do not depend on the HTTP library: protocol revisions, header checks
// (MCP-Protocol-Version, Origin, Accept) and the SSE wire format. The streamable HTTP server asks these
// functions what to do; adding a protocol revision (e.g. 2026-07-28) means changing this file and the
// hub, not the transport code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::mcp {

// Revisions we speak, newest first.
const std::vector<std::string>& supported_protocol_versions();
bool is_supported_protocol_version(std::string_view version);
// The revision assumed when a client sends no MCP-Protocol-Version header (the spec says 2025-03-26).
inline constexpr std::string_view kDefaultProtocolVersion = "2025-03-26";
// JSON-RPC batches were removed in 2025-06-18; only older sessions may send them.
bool batches_allowed(std::string_view version);

// The MCP-Protocol-Version header check for requests inside a session. Returns an error message for a
// 400 answer, or nullopt when the request may proceed. The spec (2025-06-18 and 2025-11-25, transports)
// asks for 400 only for an invalid or unsupported version; that the client sends the negotiated one is
// the client's SHOULD, so another supported version is served (as the SDK's servers do).
std::optional<std::string> check_protocol_version_header(std::optional<std::string_view> header);

// DNS-rebinding protection: browsers send Origin; only loopback origins (any port) and the explicitly
// allowed ones may talk to a local endpoint. No Origin header (non-browser clients) is allowed.
bool origin_allowed(std::optional<std::string_view> origin, const std::vector<std::string>& extra_allowed);

// A Host header's parts: the host lowercased (an IPv6 literal without its brackets) and the port if
// one was given. nullopt unless the value is host[:port] with a DNS name (letters, digits, '-', '_',
// '.'), an IPv4 literal or a bracketed IPv6 literal, and a decimal port up to 65535.
struct HostHeader {
  std::string host;
  std::optional<uint16_t> port;
};
std::optional<HostHeader> parse_host_header(std::string_view value);

// Whether a host (as parse_host_header returns it) names this machine's loopback: "localhost", its
// absolute form "localhost.", a 127.0.0.0/8 literal or ::1. Other names under .localhost are refused:
// not every resolver keeps them on loopback.
bool is_loopback_host(std::string_view host);

// DNS-rebinding protection, also for clients that send no Origin: a page on http://evil.example:PORT
// whose name was re-pointed at 127.0.0.1 reaches us with "Host: evil.example:PORT". Allowed: loopback
// hosts (any port) and the hosts in extra_hosts (compared case-insensitively, IPv6 with or without
// brackets). A missing or malformed Host is refused.
bool host_allowed(std::optional<std::string_view> header, const std::vector<std::string>& extra_hosts);

struct AcceptPrefs {
  bool json = false;
  bool sse = false;
};
// Parses an Accept header; "*/*" and "application/*" / "text/*" wildcards count.
AcceptPrefs parse_accept(std::string_view header);

// One server-sent event. `id` and `event` are omitted when empty; multi-line data is split per the spec.
std::string format_sse_event(std::string_view id, std::string_view event, std::string_view data);

// Incremental parser for a text/event-stream body (the upstream side of SSE and streamable HTTP).
class SseParser {
 public:
  struct Event {
    std::string id;
    std::string event;  // "message" when the stream did not name it
    std::string data;
  };
  // Feeds bytes; returns the events they completed. A line, or an event's data (which a hostile server
  // could grow line by line without ever ending the event), longer than max_line bytes is an error.
  std::vector<Event> feed(std::string_view bytes);
  bool failed() const { return failed_; }
  explicit SseParser(size_t max_line = 64 << 20) : max_line_(max_line) {}

 private:
  void line(std::string_view l, std::vector<Event>& out);
  size_t max_line_;
  std::string partial_;
  Event current_;
  bool has_data_ = false;
  bool failed_ = false;
  bool last_was_cr_ = false;
};

// A new session id: 128 bits from the OS CSPRNG, hex (visible ASCII as the spec requires).
std::string new_session_id();

}  // namespace mcpvm::mcp
