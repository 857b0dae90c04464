// Hub: the MCP session multiplexer between many HTTP clients and ONE upstream MCP connection (a stdio
// server, or one client session to an HTTP server). It owns every protocol decision that is not about
// HTTP framing:
//   - client request ids are rewritten to unique upstream ids (and progress tokens likewise), so answers
//     and progress reach the client that asked;
//   - the first `initialize` is forwarded; later ones are answered from its cached result;
//   - server notifications are routed (progress to its request, everything else to every session),
//     server->client requests (sampling, elicitation, roots) go to the session most likely waiting on them;
//   - timeouts and an upstream crash end open requests with JSON-RPC errors.
// Messages for a client go to Streams (a POST's response stream, or a session's standalone stream), each
// with SSE event ids and a bounded history for Last-Event-ID resumption.
//
// Not thread-safe: everything runs on the endpoint's single event-loop thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mcp/jsonrpc.h"
#include "mcp/tool_policy.h"

namespace mcpvm::mcp {

// Where the messages of one stream go: an HTTP response being written (SSE or JSON).
class ClientSink {
 public:
  virtual ~ClientSink() = default;
  // One message; event_id is the SSE id to send with it ("" for JSON responses).
  virtual void deliver(const std::string& event_id, const std::string& json_text) = 0;
  // Nothing more will come on this stream (all of a POST's requests are answered).
  virtual void finish() = 0;
};

// One client request and how it ended, for the VM's audit log (JSON lines, runner/boot.cpp).
struct AuditRecord {
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::string session;
  std::string client;  // the clientInfo.name the session's initialize gave ("" if none)
  std::string method;
  std::string subject;  // the tool or prompt name, or the resource URI, when the method has one
  std::chrono::milliseconds duration{0};
  // ok | tool_error (a tools/call result with isError) | error | refused (by the tool policy, never sent to
  // the server) | timeout | server_unavailable | cancelled (by the client, or its session ended)
  std::string outcome;
  int error_code = 0;  // for error outcomes
  std::optional<json>
      arguments;  // tools/call and prompts/get arguments, only with HubOptions::audit_arguments
};
json to_json(const AuditRecord& record);

struct HubOptions {
  std::chrono::milliseconds request_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds idle_session_timeout{std::chrono::hours(1)};
  size_t stream_history_events = 512;  // kept per stream for Last-Event-ID resumption
  // Bytes of that history per stream (the newest event is always kept), and for all finished streams of
  // a session together: resumption needs the last few events, while a count alone let a hostile server
  // pile up 512 events of 32 MiB per stream.
  size_t stream_history_bytes = 32u << 20;
  // Server->client requests (sampling, elicitation, roots) one session may have unanswered. Real servers
  // have a handful; beyond this the server gets an error instead of the client a flood of requests.
  size_t max_open_server_requests = 64;
  size_t max_sessions = 1024;
  ToolPolicy tools;  // which tools clients see and may call (run --tools, --tools-override)
  // Called once per client request that was forwarded or refused, when it ends (on the hub's thread).
  std::function<void(const AuditRecord&)> audit;
  bool audit_arguments = false;  // arguments may hold personal data: only when asked (--audit-args)
};

enum class SessionKind { streamable_http, legacy_sse };

struct HubStatus {
  bool upstream_alive = true;
  std::string upstream_error;  // why the upstream is gone
  bool initialized = false;
  json server_info;
  size_t sessions = 0;
  size_t pending_requests = 0;
  uint64_t requests_forwarded = 0;
  uint64_t requests_timed_out = 0;
  uint64_t junk_lines = 0;  // upstream output that was not JSON-RPC
};

class Hub {
 public:
  using Clock = std::chrono::steady_clock;
  using StreamId = uint64_t;
  // Sends one JSON-RPC message to the upstream server.
  using SendUpstream = std::function<void(const json& message)>;

  Hub(HubOptions options, SendUpstream send_upstream);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // ---- sessions
  // Creates a session; nullopt when max_sessions are open.
  std::optional<std::string> create_session(SessionKind kind);
  bool has_session(const std::string& session) const;
  // The protocol revision the session negotiated (kDefaultProtocolVersion before initialize completes).
  std::string session_protocol_version(const std::string& session) const;
  // Ends a session (DELETE, or the legacy SSE stream closed): cancels its open requests upstream.
  void close_session(const std::string& session);

  // ---- streams
  // A stream for the answers to one POST. json_mode: only responses go to it (the JSON body); the
  // request's notifications and server requests go to the session's standalone stream instead.
  // The sink's finish() is called once `requests` responses were delivered (at once if 0).
  StreamId open_post_stream(const std::string& session, std::shared_ptr<ClientSink> sink, bool json_mode,
                            size_t requests);
  // Attaches the session's standalone stream (GET /mcp, or the legacy /sse stream) to sink, replacing any
  // previous one, and delivers what was queued while nobody listened.
  void attach_standalone(const std::string& session, std::shared_ptr<ClientSink> sink);
  // Resumes the stream named by an SSE Last-Event-ID: replays newer events into sink and attaches it.
  // False when the id names no stream of this session.
  bool resume(const std::string& session, const std::string& last_event_id, std::shared_ptr<ClientSink> sink);
  // The connection behind sink went away: stop delivering to it (events stay in the history).
  void detach(const std::string& session, const ClientSink* sink);
  // The standalone stream id of a legacy SSE session (its POSTs' answers go there).
  StreamId standalone_stream(const std::string& session) const;

  // ---- client -> server: one already-validated message from a client of `session`, arrived on `stream`.
  void from_client(const std::string& session, StreamId stream, json message);

  // ---- server -> client
  void from_upstream(json message);
  // Output of the server that is not an acceptable message (`why`): logged and counted, never forwarded.
  void upstream_junk(std::string_view line, std::string_view why);
  // The upstream is gone (process exited, connection failed): every open request gets an error now and
  // every later one at once.
  void upstream_failed(const std::string& reason);
  // The upstream is replaced by another server (the runner's next boot of the VM): every open request
  // gets an error (as upstream_failed), every session ends (its streams finish; a client naming it later
  // gets 404 and must initialize again, as the spec asks of an expired session), and the cached
  // initialize is forgotten, so the next session's initialize reaches the new server. Counters stay.
  // The hub is then without upstream until upstream_attached().
  void end_generation(const std::string& reason);
  // A new upstream is connected (after end_generation, or for the first time): requests flow again.
  void upstream_attached();

  // Expires timed-out requests and idle sessions; call about once a second.
  void tick(Clock::time_point now);

  HubStatus status() const;

 private:
  struct Stream;
  struct Session;
  struct Pending;

  Session* find_session(const std::string& id);
  const Session* find_session(const std::string& id) const;
  Stream* find_stream(Session& s, StreamId id);
  void push(Session& s, Stream& stream, const json& message);
  void push_text(Stream& stream, const std::shared_ptr<const std::string>& text);
  void push_response(Session& s, StreamId stream, const json& response);
  void push_related(Session& s, StreamId stream, const json& message);
  void broadcast(const json& message);
  void forward_request(Session& s, StreamId stream, json request);
  void handle_initialize(Session& s, StreamId stream, const json& request);
  void answer_initialize(Session& s, StreamId stream, const json& client_id, const std::string& requested);
  void on_response(json response);
  void on_server_request(json request);
  void on_server_notification(json notification);
  void finish_pending(int64_t upstream_id, const json& response_for_client);
  void fail_pending(int64_t upstream_id, json err);
  void drop_pending(int64_t upstream_id);
  void trim_streams(Session& s);
  // Refuses (answers the server with an error) a server request the session may not take; returns
  // whether it did.
  bool refuse_server_request(const Session& s, const json& request);
  AuditRecord begin_audit(const Session& s, const json& request) const;
  void emit_audit(AuditRecord& record, Clock::time_point started, const std::string& outcome, int code);

  HubOptions options_;
  SendUpstream send_upstream_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
  std::unordered_map<int64_t, Pending> pending_;                  // by upstream id
  std::unordered_map<std::string, int64_t> progress_tokens_;      // upstream token key -> upstream id
  std::unordered_map<std::string, std::string> server_requests_;  // id key -> session
  int64_t next_upstream_id_ = 1;
  StreamId next_stream_id_ = 1;

  enum class InitState { none, in_flight, ready };
  InitState init_state_ = InitState::none;
  json init_result_;
  struct InitWaiter {
    std::string session;
    StreamId stream;
    json client_id;
    std::string requested_version;
  };
  std::vector<InitWaiter> init_waiters_;

  HubStatus counters_;
};

}  // namespace mcpvm::mcp
