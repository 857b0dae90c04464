#include "mcp/hub.h"

#include <algorithm>
#include <ctime>

#include "mcp/protocol.h"
#include "util/log.h"

namespace mcpvm::mcp {

struct Hub::Stream {
  StreamId id = 0;
  bool json_mode = false;
  bool standalone = false;
  size_t open_requests = 0;
  bool finished = false;
  uint64_t next_seq = 1;
  uint64_t delivered_seq = 0;  // last seq handed to a sink (standalone streams queue the rest)
  // Shared: a broadcast is serialized once for every session's history.
  std::deque<std::pair<uint64_t, std::shared_ptr<const std::string>>> history;
  size_t history_bytes = 0;
  std::shared_ptr<ClientSink> sink;
};

struct Hub::Session {
  std::string id;
  SessionKind kind = SessionKind::streamable_http;
  std::string protocol_version{kDefaultProtocolVersion};
  bool initialized = false;
  StreamId standalone = 0;
  std::map<StreamId, Stream> streams;
  std::unordered_map<std::string, int64_t> open_requests;  // client id key -> upstream id
  Clock::time_point last_activity = Clock::now();
  std::string client_name;  // from its initialize, for the audit log
};

struct Hub::Pending {
  std::string session;
  StreamId stream = 0;
  json client_id;
  std::optional<json> client_progress_token;
  std::string progress_key;  // key in progress_tokens_, "" if none
  Clock::time_point deadline;
  bool initialize = false;
  std::string requested_version;
  bool lists_tools = false;  // a tools/list: its result passes the tool policy
  AuditRecord audit;         // filled when the request arrives, completed when it ends
  Clock::time_point started;
};

namespace {

constexpr size_t kMaxKeptStreams = 64;  // finished POST streams kept per session for resumption
// A server request's id is kept as a map key while the client answers; real ids are short numbers or
// UUIDs, a hostile server's could be a message-sized string.
constexpr size_t kMaxServerRequestIdBytes = 256;

std::string event_id(Hub::StreamId stream, uint64_t seq) {
  return fmt::format("{}-{}", stream, seq);
}

bool parse_event_id(const std::string& text, Hub::StreamId& stream, uint64_t& seq) {
  auto dash = text.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 >= text.size()) return false;
  try {
    size_t used = 0;
    stream = std::stoull(text.substr(0, dash), &used);
    if (used != dash) return false;
    seq = std::stoull(text.substr(dash + 1), &used);
    return used == text.size() - dash - 1;
  } catch (const std::exception&) {
    return false;
  }
}

const json* progress_token_of(const json& request) {
  auto params = request.find("params");
  if (params == request.end() || !params->is_object()) return nullptr;
  auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return nullptr;
  auto token = meta->find("progressToken");
  if (token == meta->end() || !(token->is_string() || token->is_number_integer())) return nullptr;
  return &*token;
}

// Bounds what one audit line may carry of a client's strings (names, URIs, client names).
constexpr size_t kMaxAuditText = 512;

std::string bounded(const json& value) {
  if (!value.is_string()) return "";
  std::string text = value.get<std::string>();
  if (text.size() > kMaxAuditText) text.resize(kMaxAuditText);
  return text;
}

// The tool or prompt name, or the resource URI, a request is about.
std::string audit_subject(const json& request) {
  auto params = request.find("params");
  if (params == request.end() || !params->is_object()) return "";
  if (params->contains("name")) return bounded((*params)["name"]);
  if (params->contains("uri")) return bounded((*params)["uri"]);
  return "";
}

std::string outcome_of(const json& response, int& code) {
  if (response.contains("error")) {
    const json& e = response["error"];
    code = e.is_object() && e.contains("code") && e["code"].is_number_integer() ? e["code"].get<int>() : 0;
    if (code == rpc::kRequestTimeout) return "timeout";
    if (code == rpc::kServerUnavailable) return "server_unavailable";
    if (code == rpc::kSessionClosed) return "cancelled";
    return "error";
  }
  const json& result = response.contains("result") ? response["result"] : json();
  if (result.is_object() && result.value("isError", false) == true) return "tool_error";
  return "ok";
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = std::time_t(ms / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

}  // namespace

json to_json(const AuditRecord& r) {
  json j = {
      {"time", iso8601(r.time)},           {"session", r.session}, {"client", r.client}, {"method", r.method},
      {"duration_ms", r.duration.count()}, {"outcome", r.outcome}};
  if (!r.subject.empty()) j["subject"] = r.subject;
  if (r.error_code) j["error_code"] = r.error_code;
  if (r.arguments) j["arguments"] = *r.arguments;
  return j;
}

AuditRecord Hub::begin_audit(const Session& s, const json& request) const {
  AuditRecord r;
  r.time = std::chrono::system_clock::now();
  r.session = s.id;
  r.client = s.client_name;
  r.method = bounded(request.value("method", json()));
  r.subject = audit_subject(request);
  auto params = request.find("params");
  if (options_.audit_arguments && (r.method == "tools/call" || r.method == "prompts/get") &&
      params != request.end() && params->is_object() && params->contains("arguments"))
    r.arguments = params->at("arguments");
  return r;
}

void Hub::emit_audit(AuditRecord& r, Clock::time_point started, const std::string& outcome, int code) {
  if (!options_.audit) return;
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  r.outcome = outcome;
  r.error_code = code;
  try {
    options_.audit(r);
  } catch (const std::exception& e) {
    log::warn("mcp: writing the audit log failed: {}", e.what());
  }
}

Hub::Hub(HubOptions options, SendUpstream send_upstream)
    : options_(options), send_upstream_(std::move(send_upstream)) {}

Hub::~Hub() = default;

// ---- sessions ------------------------------------------------------------------------------------

std::optional<std::string> Hub::create_session(SessionKind kind) {
  if (sessions_.size() >= options_.max_sessions) return std::nullopt;
  auto s = std::make_unique<Session>();
  s->id = new_session_id();
  s->kind = kind;
  s->standalone = next_stream_id_++;
  Stream& standalone = s->streams[s->standalone];
  standalone.id = s->standalone;
  standalone.standalone = true;
  std::string id = s->id;
  sessions_.emplace(id, std::move(s));
  return id;
}

bool Hub::has_session(const std::string& id) const {
  return find_session(id) != nullptr;
}

std::string Hub::session_protocol_version(const std::string& id) const {
  const Session* s = find_session(id);
  return s ? s->protocol_version : std::string(kDefaultProtocolVersion);
}

Hub::Session* Hub::find_session(const std::string& id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

const Hub::Session* Hub::find_session(const std::string& id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Hub::close_session(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  std::unique_ptr<Session> s = std::move(it->second);
  sessions_.erase(it);
  for (auto& [key, upstream_id] : s->open_requests) {
    if (counters_.upstream_alive)
      send_upstream_(make_notification(
          "notifications/cancelled", {{"requestId", upstream_id}, {"reason", "the client's session ended"}}));
    drop_pending(upstream_id);
  }
  // The server must not wait forever for answers this session will never send.
  for (auto r = server_requests_.begin(); r != server_requests_.end();) {
    if (r->second == id) {
      if (counters_.upstream_alive)
        send_upstream_(make_error(json::parse(r->first), rpc::kSessionClosed, "the client's session ended"));
      r = server_requests_.erase(r);
    } else {
      ++r;
    }
  }
  init_waiters_.erase(std::remove_if(init_waiters_.begin(), init_waiters_.end(),
                                     [&](const InitWaiter& w) { return w.session == id; }),
                      init_waiters_.end());
  for (auto& [sid, stream] : s->streams)
    if (stream.sink) stream.sink->finish();
}

// ---- streams -------------------------------------------------------------------------------------

Hub::Stream* Hub::find_stream(Session& s, StreamId id) {
  auto it = s.streams.find(id);
  return it == s.streams.end() ? nullptr : &it->second;
}

Hub::StreamId Hub::open_post_stream(const std::string& session, std::shared_ptr<ClientSink> sink,
                                    bool json_mode, size_t requests) {
  Session* s = find_session(session);
  if (!s) {
    sink->finish();
    return 0;
  }
  s->last_activity = Clock::now();
  StreamId id = next_stream_id_++;
  Stream& stream = s->streams[id];
  stream.id = id;
  stream.json_mode = json_mode;
  stream.open_requests = requests;
  stream.sink = std::move(sink);
  if (requests == 0) {
    stream.finished = true;
    stream.sink->finish();
  }
  trim_streams(*s);
  return id;
}

// Drops the oldest finished, unattached POST streams beyond kMaxKeptStreams or the byte budget.
void Hub::trim_streams(Session& s) {
  auto kept = [](const Stream& st) { return st.finished && !st.sink && !st.standalone; };
  size_t count = 0, bytes = 0;
  for (auto& [id, st] : s.streams) {
    if (!kept(st)) continue;
    ++count;
    bytes += st.history_bytes;
  }
  for (auto it = s.streams.begin();
       it != s.streams.end() && (count > kMaxKeptStreams || bytes > options_.stream_history_bytes);) {
    if (kept(it->second)) {
      --count;
      bytes -= it->second.history_bytes;
      it = s.streams.erase(it);
    } else {
      ++it;
    }
  }
}

void Hub::attach_standalone(const std::string& session, std::shared_ptr<ClientSink> sink) {
  Session* s = find_session(session);
  if (!s) {
    sink->finish();
    return;
  }
  s->last_activity = Clock::now();
  Stream& st = s->streams[s->standalone];
  if (st.sink && st.sink != sink) st.sink->finish();
  st.sink = std::move(sink);
  for (auto& [seq, text] : st.history)
    if (seq > st.delivered_seq) st.sink->deliver(event_id(st.id, seq), *text);
  if (!st.history.empty()) st.delivered_seq = std::max(st.delivered_seq, st.history.back().first);
}

bool Hub::resume(const std::string& session, const std::string& last_event_id,
                 std::shared_ptr<ClientSink> sink) {
  Session* s = find_session(session);
  StreamId stream_id = 0;
  uint64_t seq = 0;
  if (!s || !parse_event_id(last_event_id, stream_id, seq)) return false;
  Stream* st = find_stream(*s, stream_id);
  if (!st || st->json_mode) return false;
  s->last_activity = Clock::now();
  if (st->sink && st->sink != sink) st->sink->finish();
  st->sink = std::move(sink);
  for (auto& [n, text] : st->history)
    if (n > seq) st->sink->deliver(event_id(st->id, n), *text);
  if (!st->history.empty()) st->delivered_seq = std::max(st->delivered_seq, st->history.back().first);
  if (st->finished) st->sink->finish();
  return true;
}

void Hub::detach(const std::string& session, const ClientSink* sink) {
  Session* s = find_session(session);
  if (!s) return;
  for (auto& [id, st] : s->streams)
    if (st.sink.get() == sink) st.sink.reset();
  trim_streams(*s);
}

Hub::StreamId Hub::standalone_stream(const std::string& session) const {
  const Session* s = find_session(session);
  return s ? s->standalone : 0;
}

namespace {

std::shared_ptr<const std::string> serialize(const json& message) {
  return std::make_shared<const std::string>(message.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

void Hub::push(Session& s, Stream& st, const json& message) {
  push_text(st, serialize(message));
  (void)s;
}

void Hub::push_text(Stream& st, const std::shared_ptr<const std::string>& text) {
  uint64_t seq = st.next_seq++;
  if (!st.json_mode) {
    st.history.emplace_back(seq, text);
    st.history_bytes += text->size();
    while (st.history.size() > 1 && (st.history.size() > options_.stream_history_events ||
                                     st.history_bytes > options_.stream_history_bytes)) {
      st.history_bytes -= st.history.front().second->size();
      st.history.pop_front();
    }
  }
  if (st.sink) {
    st.sink->deliver(st.json_mode ? std::string() : event_id(st.id, seq), *text);
    st.delivered_seq = seq;
  }
}

// A message that belongs to a request (progress, a server request it caused): on the request's own SSE
// stream when it has one, else on the session's standalone stream.
void Hub::push_related(Session& s, StreamId stream, const json& message) {
  Stream* st = find_stream(s, stream);
  if (!st || st->json_mode || st->finished) st = find_stream(s, s.standalone);
  if (st) push(s, *st, message);
}

void Hub::push_response(Session& s, StreamId stream, const json& response) {
  Stream* st = find_stream(s, stream);
  if (!st) return;
  push(s, *st, response);
  if (st->standalone) return;
  if (st->open_requests > 0 && --st->open_requests == 0) {
    st->finished = true;
    if (st->sink) st->sink->finish();
  }
}

void Hub::broadcast(const json& message) {
  auto text = serialize(message);
  for (auto& [id, s] : sessions_)
    if (s->initialized) push_text(s->streams[s->standalone], text);
}

// ---- client -> server ----------------------------------------------------------------------------

void Hub::from_client(const std::string& session, StreamId stream, json message) {
  Session* s = find_session(session);
  if (!s) return;
  s->last_activity = Clock::now();
  switch (classify(message)) {
    case MessageKind::request:
      if (message["method"] == "initialize") return handle_initialize(*s, stream, message);
      if (!counters_.upstream_alive)
        return push_response(*s, stream,
                             make_error(message["id"], rpc::kServerUnavailable,
                                        "MCP server unavailable: " + counters_.upstream_error));
      return forward_request(*s, stream, std::move(message));
    case MessageKind::notification: {
      const std::string method = message["method"];
      // The hub sent `initialized` itself right after the one real initialize.
      if (method == "notifications/initialized") return;
      if (method == "notifications/cancelled" && message["params"].is_object()) {
        auto it = s->open_requests.find(id_key(message["params"].value("requestId", json())));
        if (it == s->open_requests.end()) return;
        int64_t upstream_id = it->second;
        message["params"]["requestId"] = upstream_id;
        auto p = pending_.find(upstream_id);
        StreamId st = p != pending_.end() ? p->second.stream : 0;
        drop_pending(upstream_id);
        if (Stream* ps = find_stream(*s, st);
            ps && !ps->standalone && ps->open_requests > 0 && --ps->open_requests == 0) {
          ps->finished = true;
          if (ps->sink) ps->sink->finish();
        }
      }
      if (counters_.upstream_alive) send_upstream_(message);
      return;
    }
    case MessageKind::response: {
      auto it = server_requests_.find(id_key(message["id"]));
      if (it == server_requests_.end() || it->second != session) {
        log::debug("mcp: dropping a client response to unknown server request {}", message["id"].dump());
        return;
      }
      server_requests_.erase(it);
      if (counters_.upstream_alive) send_upstream_(message);
      return;
    }
    case MessageKind::invalid:
      return;
  }
}

void Hub::forward_request(Session& s, StreamId stream, json request) {
  AuditRecord audit = begin_audit(s, request);
  const auto started = Clock::now();
  if (request["method"] == "tools/call") {
    if (auto refusal = options_.tools.admit_call(request)) {  // never reaches the server
      emit_audit(audit, started, "refused", rpc::kInvalidParams);
      return push_response(s, stream, make_error(request["id"], rpc::kInvalidParams, *refusal));
    }
  }
  int64_t upstream_id = next_upstream_id_++;
  Pending p;
  p.session = s.id;
  p.stream = stream;
  p.lists_tools = request["method"] == "tools/list";
  p.audit = std::move(audit);
  p.started = started;
  p.client_id = request["id"];
  p.deadline = Clock::now() + options_.request_timeout;
  if (const json* token = progress_token_of(request)) {
    p.client_progress_token = *token;
    json upstream_token = fmt::format("mcpvm-{}", upstream_id);
    p.progress_key = id_key(upstream_token);
    request["params"]["_meta"]["progressToken"] = upstream_token;
    progress_tokens_[p.progress_key] = upstream_id;
  }
  request["id"] = upstream_id;
  s.open_requests[id_key(p.client_id)] = upstream_id;
  pending_.emplace(upstream_id, std::move(p));
  ++counters_.requests_forwarded;
  send_upstream_(request);
}

void Hub::handle_initialize(Session& s, StreamId stream, const json& request) {
  std::string requested;
  if (request.contains("params") && request["params"].is_object())
    requested = request["params"].value("protocolVersion", "");
  if (auto params = request.find("params"); params != request.end() && params->is_object()) {
    auto info = params->find("clientInfo");
    if (info != params->end() && info->is_object()) s.client_name = bounded(info->value("name", json()));
  }
  if (init_state_ == InitState::ready) return answer_initialize(s, stream, request["id"], requested);
  if (!counters_.upstream_alive)
    return push_response(s, stream,
                         make_error(request["id"], rpc::kServerUnavailable,
                                    "MCP server unavailable: " + counters_.upstream_error));
  init_waiters_.push_back({s.id, stream, request["id"], requested});
  if (init_state_ == InitState::in_flight) return;
  init_state_ = InitState::in_flight;
  int64_t upstream_id = next_upstream_id_++;
  Pending p;
  p.session = s.id;
  p.stream = stream;
  p.client_id = request["id"];
  p.deadline = Clock::now() + options_.request_timeout;
  p.initialize = true;
  pending_.emplace(upstream_id, std::move(p));
  json forwarded = request;
  forwarded["id"] = upstream_id;
  send_upstream_(forwarded);
}

// Answers a client's initialize from the cached one. The server speaks the revision it negotiated with
// the first client; a later client asking for another revision we support is told that one (the
// revisions differ in transport details the hub handles, not in the messages the server sends).
void Hub::answer_initialize(Session& s, StreamId stream, const json& client_id,
                            const std::string& requested) {
  json result = init_result_;
  if (is_supported_protocol_version(requested)) result["protocolVersion"] = requested;
  s.protocol_version = result.value("protocolVersion", std::string(kDefaultProtocolVersion));
  s.initialized = true;
  push_response(s, stream, make_result(client_id, std::move(result)));
}

// ---- server -> client ----------------------------------------------------------------------------

void Hub::from_upstream(json message) {
  switch (classify(message)) {
    case MessageKind::response:
      return on_response(std::move(message));
    case MessageKind::request:
      return on_server_request(std::move(message));
    case MessageKind::notification:
      return on_server_notification(std::move(message));
    case MessageKind::invalid:
      ++counters_.junk_lines;
      log::warn("mcp: ignoring a message from the server that is not JSON-RPC 2.0");
      return;
  }
}

void Hub::upstream_junk(std::string_view line, std::string_view why) {
  ++counters_.junk_lines;
  log::warn("mcp: dropping output of the server ({}, {} bytes): {:.200}", why, line.size(), line);
}

void Hub::on_response(json response) {
  if (!response["id"].is_number_integer()) {
    log::warn("mcp: server answered with an id we never sent: {:.100}", response["id"].dump());
    return;
  }
  int64_t upstream_id = response["id"].get<int64_t>();
  auto it = pending_.find(upstream_id);
  if (it == pending_.end()) {
    log::debug("mcp: late or unknown response {} dropped", upstream_id);
    return;
  }
  if (!it->second.initialize) {
    if (it->second.lists_tools && response.contains("result"))
      options_.tools.rewrite_list_result(response["result"]);
    return finish_pending(upstream_id, response);
  }

  pending_.erase(it);
  std::vector<InitWaiter> waiters = std::move(init_waiters_);
  init_waiters_.clear();
  if (response.contains("result") && response["result"].is_object()) {
    init_state_ = InitState::ready;
    init_result_ = response["result"];
    counters_.initialized = true;
    counters_.server_info = init_result_.value("serverInfo", json::object());
    send_upstream_(make_notification("notifications/initialized", nullptr));
    for (auto& w : waiters)
      if (Session* s = find_session(w.session))
        answer_initialize(*s, w.stream, w.client_id, w.requested_version);
  } else {
    init_state_ = InitState::none;  // a later initialize tries again
    for (auto& w : waiters) {
      json err = response;
      err["id"] = w.client_id;
      if (Session* s = find_session(w.session)) push_response(*s, w.stream, err);
    }
  }
}

// Ends one pending request with an error: a failed initialize answers every client waiting for it and
// lets the next initialize try again; any other request answers its own client.
void Hub::fail_pending(int64_t upstream_id, json err) {
  auto it = pending_.find(upstream_id);
  if (it == pending_.end()) return;
  if (!it->second.initialize) return finish_pending(upstream_id, err);
  pending_.erase(it);
  for (auto& w : std::exchange(init_waiters_, {}))
    if (Session* s = find_session(w.session)) {
      err["id"] = w.client_id;
      push_response(*s, w.stream, err);
    }
  init_state_ = InitState::none;
}

void Hub::finish_pending(int64_t upstream_id, const json& response) {
  auto it = pending_.find(upstream_id);
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (!p.progress_key.empty()) progress_tokens_.erase(p.progress_key);
  int code = 0;
  std::string outcome = outcome_of(response, code);
  emit_audit(p.audit, p.started, outcome, code);
  Session* s = find_session(p.session);
  if (!s) return;
  s->open_requests.erase(id_key(p.client_id));
  json out = response;
  out["id"] = p.client_id;
  push_response(*s, p.stream, out);
}

void Hub::drop_pending(int64_t upstream_id) {
  auto it = pending_.find(upstream_id);
  if (it == pending_.end()) return;
  if (!it->second.progress_key.empty()) progress_tokens_.erase(it->second.progress_key);
  if (Session* s = find_session(it->second.session)) s->open_requests.erase(id_key(it->second.client_id));
  if (!it->second.initialize) emit_audit(it->second.audit, it->second.started, "cancelled", 0);
  pending_.erase(it);
}

void Hub::on_server_request(json request) {
  // The server asks a client something (sampling, elicitation, roots, ping). Route it to the session of
  // the newest open request (the tool call that needs it, in practice), else the most recently active one.
  const Pending* newest = nullptr;
  int64_t newest_id = 0;
  for (auto& [id, p] : pending_)
    if (!p.initialize && id > newest_id && find_session(p.session)) {
      newest = &p;
      newest_id = id;
    }
  Session* target = newest ? find_session(newest->session) : nullptr;
  StreamId stream = newest ? newest->stream : 0;
  if (!target) {
    for (auto& [id, s] : sessions_)
      if (s->initialized && (!target || s->last_activity > target->last_activity)) target = s.get();
    if (target) stream = target->standalone;
  }
  if (!target) {
    send_upstream_(make_error(request["id"], rpc::kInternalError, "no MCP client is connected"));
    return;
  }
  if (refuse_server_request(*target, request)) return;
  server_requests_[id_key(request["id"])] = target->id;
  push_related(*target, stream, request);
}

bool Hub::refuse_server_request(const Session& s, const json& request) {
  std::string why;
  if (id_key(request["id"]).size() > kMaxServerRequestIdBytes)
    why = fmt::format("its id is longer than {} bytes", kMaxServerRequestIdBytes);
  const auto open = static_cast<size_t>(std::count_if(server_requests_.begin(), server_requests_.end(),
                                                      [&](const auto& r) { return r.second == s.id; }));
  if (open >= options_.max_open_server_requests)
    why = fmt::format("the client has {} requests of the server unanswered", open);
  if (why.empty()) return false;
  log::warn("mcp: refusing a {} request of the server: {}", request["method"].get<std::string>(), why);
  send_upstream_(make_error(request["id"], rpc::kInternalError, "request refused: " + why));
  return true;
}

void Hub::on_server_notification(json n) {
  const std::string method = n["method"];
  const json& params = n.contains("params") ? n["params"] : json();
  if (method == "notifications/progress" && params.is_object() && params.contains("progressToken")) {
    auto t = progress_tokens_.find(id_key(params["progressToken"]));
    if (t == progress_tokens_.end()) return;
    Pending& p = pending_.at(t->second);
    p.deadline = Clock::now() + options_.request_timeout;  // progress proves the request is alive
    n["params"]["progressToken"] = *p.client_progress_token;
    if (Session* s = find_session(p.session)) push_related(*s, p.stream, n);
    return;
  }
  if (method == "notifications/cancelled" && params.is_object() && params.contains("requestId")) {
    auto r = server_requests_.find(id_key(params["requestId"]));
    if (r == server_requests_.end()) return;
    if (Session* s = find_session(r->second)) push(*s, s->streams[s->standalone], n);
    server_requests_.erase(r);
    return;
  }
  broadcast(n);  // logging, list_changed, resources/updated, ...
}

void Hub::upstream_failed(const std::string& reason) {
  if (!counters_.upstream_alive) return;
  counters_.upstream_alive = false;
  counters_.upstream_error = reason;
  log::warn("mcp: {}", reason);
  std::vector<int64_t> ids;
  for (auto& [id, p] : pending_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (int64_t id : ids) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    json err = make_error(nullptr, rpc::kServerUnavailable, "MCP server unavailable: " + reason);
    fail_pending(id, std::move(err));
  }
  server_requests_.clear();
}

void Hub::end_generation(const std::string& reason) {
  upstream_failed(reason);
  std::vector<std::string> ids;
  for (auto& [id, s] : sessions_) ids.push_back(id);
  for (auto& id : ids) close_session(id);  // upstream not alive: nothing is sent to it
  pending_.clear();
  progress_tokens_.clear();
  server_requests_.clear();
  init_waiters_.clear();
  init_state_ = InitState::none;
  init_result_ = json();
  counters_.initialized = false;
  counters_.server_info = json();
  counters_.upstream_error = reason;
}

void Hub::upstream_attached() {
  counters_.upstream_alive = true;
  counters_.upstream_error.clear();
}

void Hub::tick(Clock::time_point now) {
  std::vector<int64_t> expired;
  for (auto& [id, p] : pending_)
    if (p.deadline <= now) expired.push_back(id);
  std::sort(expired.begin(), expired.end());
  for (int64_t id : expired) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    ++counters_.requests_timed_out;
    if (counters_.upstream_alive)
      send_upstream_(
          make_notification("notifications/cancelled", {{"requestId", id}, {"reason", "timed out"}}));
    json err =
        make_error(nullptr, rpc::kRequestTimeout,
                   fmt::format("MCP server did not answer within {} ms", options_.request_timeout.count()));
    fail_pending(id, std::move(err));
  }
  std::vector<std::string> idle;
  for (auto& [id, s] : sessions_) {
    bool listening = false;
    for (auto& [sid, st] : s->streams) listening |= st.sink != nullptr;
    if (!listening && s->open_requests.empty() && now - s->last_activity > options_.idle_session_timeout)
      idle.push_back(id);
  }
  for (auto& id : idle) close_session(id);
}

HubStatus Hub::status() const {
  HubStatus st = counters_;
  st.sessions = sessions_.size();
  st.pending_requests = pending_.size();
  return st;
}

}  // namespace mcpvm::mcp
