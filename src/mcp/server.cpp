// The HTTP front of the endpoint (Boost.Beast, C++20 coroutines on one Asio thread) and the stdio
// upstream. HTTP framing and routing live here; every MCP decision is delegated to protocol.h / Hub.
#include <sys/socket.h>

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>

#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>

#include "mcp/bearer_auth.h"
#include "mcp/endpoint.h"
#include "mcp/endpoint_url.h"
#include "mcp/protocol.h"
#include "mcp/upstream_link.h"
#include "util/error.h"
#include "util/log.h"

namespace mcpvm::mcp {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;

namespace {

constexpr size_t kMaxQueuedBytesPerClient = 96u << 20;  // a client this far behind is disconnected
constexpr auto kWriteTimeout = std::chrono::seconds(60);
// Retry-After of the 503 between two servers: a VM's restart takes seconds (under TCG, tens).
constexpr int kRetryAfterSeconds = 2;

std::optional<std::string_view> header(const Request& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value().data(), it->value().size());
}

std::string_view target_path(const Request& req) {
  std::string_view t(req.target().data(), req.target().size());
  return t.substr(0, t.find('?'));
}

std::optional<std::string> query_param(const Request& req, std::string_view name) {
  std::string_view t(req.target().data(), req.target().size());
  auto q = t.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = t.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == name && eq != std::string_view::npos) return std::string(kv.substr(eq + 1));
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return std::nullopt;
}

// Queue + wake-up shared by the sinks: the hub delivers synchronously, the connection's coroutine drains.
class QueuedSink : public ClientSink {
 public:
  explicit QueuedSink(net::any_io_executor ex) : wake_(ex) {}
  void finish() override {
    finished_ = true;
    wake_.cancel();
  }
  bool finished() const { return finished_; }
  bool overflowed() const { return overflowed_; }
  // Waits until something was delivered, finish() was called, or `timeout` passed (returns false).
  net::awaitable<bool> wait(std::chrono::milliseconds timeout) {
    wake_.expires_after(timeout);
    beast::error_code ec;
    co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
    co_return ec == net::error::operation_aborted;
  }

 protected:
  void queued(size_t bytes) {
    queued_bytes_ += bytes;
    if (queued_bytes_ > kMaxQueuedBytesPerClient) overflowed_ = true;
    wake_.cancel();
  }
  size_t queued_bytes_ = 0;

 private:
  net::steady_timer wake_;
  bool finished_ = false;
  bool overflowed_ = false;
};

class SseSink : public QueuedSink {
 public:
  using QueuedSink::QueuedSink;
  void deliver(const std::string& event_id, const std::string& json_text) override {
    if (overflowed()) return;
    pending_ += format_sse_event(event_id, "message", json_text);
    queued(pending_.size() - queued_bytes_);
  }
  void raw(std::string text) {
    pending_ += text;
    queued(text.size());
  }
  std::string take() {
    queued_bytes_ = 0;
    return std::exchange(pending_, {});
  }
  bool has_data() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

class JsonSink : public QueuedSink {
 public:
  using QueuedSink::QueuedSink;
  void deliver(const std::string&, const std::string& json_text) override {
    responses_.push_back(json_text);
    queued(json_text.size());
  }
  std::string body(bool batch) const {
    if (!batch) return responses_.empty() ? std::string() : responses_.front();
    std::string out = "[";
    for (size_t i = 0; i < responses_.size(); ++i) out += (i ? "," : "") + responses_[i];
    return out + "]";
  }

 private:
  std::vector<std::string> responses_;
};

}  // namespace

// ---- the stdio upstream -------------------------------------------------------------------------

namespace {

class StdioLink : public UpstreamLink {
 public:
  StdioLink(net::io_context& io, const StdioUpstream& c, size_t max_line, MessagePeer& peer)
      : in_(io, dup_or_fail(c.read_fd)),
        out_(io, dup_or_fail(c.write_fd)),
        max_line_(max_line),
        peer_(peer) {}

  void start() override {
    reading_ = true;
    net::co_spawn(in_.get_executor(), read_loop(), [this](std::exception_ptr) { reading_ = false; });
  }

  void send(const json& message) override {
    if (broken_ || stopped_) return;
    queue_ += message.dump(-1, ' ', false, json::error_handler_t::replace);
    queue_ += '\n';
    if (!writing_) write_next();
  }

  void stop() override {
    stopped_ = true;
    beast::error_code ec;
    in_.cancel(ec);
    out_.cancel(ec);
  }

  bool idle() const override { return !reading_ && !writing_; }

 private:
  static int dup_or_fail(int fd) {
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) fail_errno("duplicating the MCP server's stdio descriptor {}", fd);
    return copy;
  }

  // All queued lines go out in one write: under load this batches many messages per syscall.
  void write_next() {
    writing_ = true;
    inflight_ = std::exchange(queue_, {});
    net::async_write(out_, net::buffer(inflight_), [this](beast::error_code ec, size_t) {
      if (ec) {
        broken_ = true;
        writing_ = false;
        if (ec != net::error::operation_aborted) peer_.on_closed("writing to the MCP peer: " + ec.message());
        return;
      }
      if (queue_.empty() || stopped_)
        writing_ = false;
      else
        write_next();
    });
  }

  net::awaitable<void> read_loop() {
    std::string buf;
    bool skipping = false;  // inside an over-long line: drop bytes up to the next newline
    while (!stopped_) {
      beast::error_code ec;
      size_t n = co_await net::async_read_until(in_, net::dynamic_buffer(buf, max_line_), '\n',
                                                net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::not_found) {  // the line outgrew max_line
        if (!skipping) peer_.on_junk(std::string_view(buf).substr(0, 200), "longer than the message limit");
        skipping = true;
        buf.clear();
        continue;
      }
      if (ec) {
        if (ec != net::error::operation_aborted)
          peer_.on_closed(ec == net::error::eof ? "the MCP server closed its stdout (it exited?)"
                                                : "reading from the MCP server: " + ec.message());
        co_return;
      }
      std::string_view line(buf.data(), n - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (skipping) {
        skipping = false;
      } else if (line.find_first_not_of(" \t") != std::string_view::npos) {
        bool too_deep = false;
        json message = parse_untrusted_json(line, &too_deep);
        if (message.is_object())
          peer_.on_message(std::move(message));
        else
          peer_.on_junk(line, too_deep ? too_deep_reason() : "not a JSON object");
      }
      buf.erase(0, n);
    }
  }

  net::posix::stream_descriptor in_;
  net::posix::stream_descriptor out_;
  size_t max_line_;
  MessagePeer& peer_;
  std::string queue_;
  std::string inflight_;
  bool writing_ = false;
  bool reading_ = false;  // read_loop() runs
  bool broken_ = false;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<UpstreamLink> make_stdio_link(net::io_context& io, const StdioUpstream& config,
                                              size_t max_line, MessagePeer& peer) {
  return std::make_unique<StdioLink>(io, config, max_line, peer);
}

namespace {

// The hub's side of one upstream link. A link that was replaced may still deliver what it had in flight:
// that belongs to the previous server and is dropped (the hub's ids and sessions are the new server's).
class HubPeer : public MessagePeer {
 public:
  HubPeer(Hub& hub, const uint64_t& current_generation)
      : hub_(hub), current_(current_generation), generation_(current_generation) {}
  void on_message(json message) override {
    if (live()) hub_.from_upstream(std::move(message));
  }
  void on_junk(std::string_view line, std::string_view why) override {
    if (live()) hub_.upstream_junk(line, why);
  }
  void on_closed(const std::string& reason) override {
    if (live()) hub_.upstream_failed(reason);
  }

 private:
  bool live() const { return current_ == generation_; }
  Hub& hub_;
  const uint64_t& current_;
  const uint64_t generation_;
};

}  // namespace

// ---- the HTTP server ----------------------------------------------------------------------------

nlohmann::json to_json(const EndpointStatus& s) {
  const HubStatus& h = s.hub;
  return {{"status", h.upstream_alive ? "ok" : "server_unavailable"},
          {"url", s.url},
          {"running", s.running},
          {"attached", s.attached},
          {"upstream",
           {{"alive", h.upstream_alive},
            {"error", h.upstream_error},
            {"initialized", h.initialized},
            {"serverInfo", h.server_info}}},
          {"sessions", h.sessions},
          {"pending_requests", h.pending_requests},
          {"requests_forwarded", h.requests_forwarded},
          {"requests_timed_out", h.requests_timed_out},
          {"junk_lines", h.junk_lines}};
}

// One upstream link and the peer it reports to (the peer must outlive the link's coroutines).
struct LinkSlot {
  std::unique_ptr<HubPeer> peer;
  std::unique_ptr<UpstreamLink> link;
};

// Owned by the event-loop thread (run()) unless a comment says otherwise; before run() starts, by the
// thread that calls the constructor and attach_upstream()/detach_upstream() (serialised by control_mu).
struct Endpoint::Impl {
  EndpointConfig config;
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  Hub hub;
  uint64_t generation = 0;         // counts the servers attached so far; HubPeer compares against it
  LinkSlot upstream;               // the current server; no link: every route answers 503
  std::string unavailable_reason;  // why there is no server (for the 503 body)
  std::vector<LinkSlot> retired;   // replaced links whose operations may still be in flight
  net::steady_timer ticker{io};
  EndpointUrl urls;                        // set by bind(), then immutable (read by any thread)
  std::vector<std::string> allowed_hosts;  // config.allowed_hosts + the listen address
  bool stopping = false;

  // Serialises attach_upstream()/detach_upstream() with the start and end of run(); guards `serving`.
  std::mutex control_mu;
  bool serving = false;  // run() is in io.run(): changes go through the event loop
  // Guards loop_ended: waiters for a posted change give up when the loop ended without running it.
  std::mutex loop_mu;
  std::condition_variable loop_cv;
  bool loop_ended = false;

  mutable std::mutex status_mu;  // guards snapshot (read by status() on any thread)
  EndpointStatus snapshot;

  explicit Impl(EndpointConfig c)
      : config(std::move(c)),
        hub(HubOptions{.request_timeout = config.request_timeout,
                       .tools = config.tools,
                       .audit = config.audit,
                       .audit_arguments = config.audit_arguments},
            [this](const json& m) {
              if (upstream.link) upstream.link->send(m);
            }) {}

  void bind();
  // Event-loop side of attach_upstream()/detach_upstream().
  void install(const Upstream& next);
  void retire(const std::string& reason);
  void reap_retired();
  // Runs fn on the event loop and waits for it (or runs it here when the loop does not run).
  void on_loop(const std::function<void()>& fn);
  void refresh_snapshot(bool running);
  net::awaitable<void> accept_loop();
  net::awaitable<void> tick_loop();
  net::awaitable<void> serve(tcp::socket socket);
  // Handles one request; returns whether the connection may serve another.
  net::awaitable<bool> handle(beast::tcp_stream& stream, Request& req);
  net::awaitable<bool> post_mcp(beast::tcp_stream& stream, Request& req);
  net::awaitable<bool> get_mcp(beast::tcp_stream& stream, Request& req);
  net::awaitable<bool> delete_mcp(beast::tcp_stream& stream, Request& req);
  net::awaitable<bool> get_sse(beast::tcp_stream& stream, Request& req);
  net::awaitable<bool> post_messages(beast::tcp_stream& stream, Request& req);
  net::awaitable<bool> stream_sse(beast::tcp_stream& stream, const Request& req, const std::string& session,
                                  std::shared_ptr<SseSink> sink,
                                  std::optional<std::string> new_session_header);
  // Checks the session header of a /mcp request; writes the 400/404 answer itself when it fails.
  net::awaitable<std::optional<std::string>> require_session(beast::tcp_stream& stream, const Request& req);
};

namespace {

http::response<http::string_body> make_response(const Request& req, http::status status, std::string body,
                                                std::string_view content_type = "text/plain") {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

net::awaitable<bool> write_response(beast::tcp_stream& stream, http::response<http::string_body> res) {
  stream.expires_after(kWriteTimeout);
  beast::error_code ec;
  co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
  co_return !ec && res.keep_alive();
}

// A plain-text error (transport-level problems: wrong method, origin, session header).
net::awaitable<bool> reply(beast::tcp_stream& stream, const Request& req, http::status status,
                           std::string text) {
  co_return co_await write_response(stream, make_response(req, status, std::move(text) + "\n"));
}

// A JSON-RPC error body with an HTTP status (the SDK clients show its message).
net::awaitable<bool> reply_rpc_error(beast::tcp_stream& stream, const Request& req, http::status status,
                                     int code, const std::string& message) {
  co_return co_await write_response(
      stream, make_response(req, status, make_error(nullptr, code, message).dump(), "application/json"));
}

}  // namespace

namespace {

// Lingering close: a client still uploading a rejected body would see a reset instead of our answer if
// we closed at once, so read and drop what it sends (bounded in time and bytes).
net::awaitable<void> discard_input(beast::tcp_stream& stream) {
  // No shutdown of our side first: some clients (undici) treat a FIN during their upload as a failure
  // instead of reading the answer; they close after reading it (it says Connection: close).
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(10));
  std::vector<char> scratch(64 * 1024);
  size_t total = 0;
  while (!ec && total < (256u << 20))
    total +=
        co_await stream.async_read_some(net::buffer(scratch), net::redirect_error(net::use_awaitable, ec));
}

}  // namespace

void Endpoint::Impl::bind() {
  beast::error_code ec;
  auto address = net::ip::make_address(config.host, ec);
  if (ec) fail("invalid listen address '{}'", config.host);
  tcp::endpoint ep(address, config.port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listening on {}:{}: {}", config.host, config.port, ec.message());
  allowed_hosts = config.allowed_hosts;
  if (!address.is_unspecified()) allowed_hosts.push_back(config.host);  // e.g. a LAN address given to bridge
  std::string host = address.is_v6() ? "[" + config.host + "]" : config.host;
  urls = {host, acceptor.local_endpoint().port()};
}

void Endpoint::Impl::refresh_snapshot(bool running) {
  std::lock_guard lock(status_mu);
  snapshot.url = urls.streamable_http();
  snapshot.running = running;
  snapshot.attached = upstream.link != nullptr;
  snapshot.hub = hub.status();
}

net::awaitable<void> Endpoint::Impl::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == net::error::operation_aborted) co_return;
      log::warn("mcp: accept failed: {}", ec.message());
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(io, serve(std::move(socket)), net::detached);
  }
}

net::awaitable<void> Endpoint::Impl::tick_loop() {
  while (!stopping) {
    ticker.expires_after(std::chrono::milliseconds(250));
    beast::error_code ec;
    co_await ticker.async_wait(net::redirect_error(net::use_awaitable, ec));
    hub.tick(Hub::Clock::now());
    reap_retired();
    refresh_snapshot(!stopping);
  }
}

net::awaitable<void> Endpoint::Impl::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(config.max_message_bytes);
    // A whole request must arrive within read_timeout: slowloris clients are cut off.
    stream.expires_after(config.read_timeout);
    beast::error_code ec;
    co_await http::async_read_header(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (!ec && parser.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      co_await http::async_write(stream, cont, net::redirect_error(net::use_awaitable, ec));
    }
    if (!ec) co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      Request dummy{http::verb::get, "/", 11};
      dummy.keep_alive(false);
      if (ec == http::error::body_limit) {
        co_await reply(
            stream, dummy, http::status::payload_too_large,
            fmt::format("Payload Too Large: messages are limited to {} bytes", config.max_message_bytes));
        co_await discard_input(stream);
      } else if (ec == http::error::header_limit)
        co_await reply(stream, dummy, http::status::request_header_fields_too_large,
                       "Request Header Fields Too Large");
      else if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message)
        co_await reply(stream, dummy, http::status::bad_request, "Bad Request: " + ec.message());
      break;
    }
    Request req = parser.release();
    bool keep = co_await handle(stream, req);
    if (!keep || stopping) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

net::awaitable<bool> Endpoint::Impl::handle(beast::tcp_stream& stream, Request& req) {
  if (!host_allowed(header(req, "Host"), allowed_hosts))
    co_return co_await reply(stream, req, http::status::forbidden,
                             "Forbidden: the Host header must name a loopback address such as 127.0.0.1 "
                             "(DNS-rebinding protection)");
  if (!config.bearer_token.empty()) {
    BearerCheck outcome = check_bearer(header(req, "Authorization"), config.bearer_token);
    if (outcome != BearerCheck::ok) {
      auto res =
          make_response(req, http::status::unauthorized,
                        outcome == BearerCheck::missing
                            ? "Unauthorized: send this endpoint's token as \"Authorization: Bearer "
                              "TOKEN\" (mcpvm inspect NAME shows it; mcpvm proxy stdio NAME sends it)\n"
                            : "Unauthorized: wrong bearer token\n");
      res.set(http::field::www_authenticate, www_authenticate(outcome));
      co_return co_await write_response(stream, std::move(res));
    }
  }
  std::string_view path = target_path(req);
  const bool mcp_path = path == "/mcp" || path == "/mcp/";
  if ((mcp_path || path == "/sse" || path == "/messages" || path == "/messages/") &&
      !origin_allowed(header(req, "Origin"), config.allowed_origins)) {
    co_return co_await reply(stream, req, http::status::forbidden, "Forbidden: Origin not allowed");
  }
  if (!upstream.link) {  // between two servers (the runner restarts the VM): come back shortly
    auto res = make_response(req, http::status::service_unavailable,
                             make_error(nullptr, rpc::kServerUnavailable,
                                        "MCP server unavailable: " + unavailable_reason + "; retry shortly")
                                 .dump(),
                             "application/json");
    res.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
    co_return co_await write_response(stream, std::move(res));
  }
  if (mcp_path) {
    switch (req.method()) {
      case http::verb::post:
        co_return co_await post_mcp(stream, req);
      case http::verb::get:
        co_return co_await get_mcp(stream, req);
      case http::verb::delete_:
        co_return co_await delete_mcp(stream, req);
      default: {
        auto res = make_response(req, http::status::method_not_allowed, "Method Not Allowed\n");
        res.set(http::field::allow, "GET, POST, DELETE");
        co_return co_await write_response(stream, std::move(res));
      }
    }
  }
  if (path == "/sse" && req.method() == http::verb::get) co_return co_await get_sse(stream, req);
  if ((path == "/messages" || path == "/messages/") && req.method() == http::verb::post)
    co_return co_await post_messages(stream, req);
  if (path == "/health" && req.method() == http::verb::get) {
    refresh_snapshot(true);
    EndpointStatus s;
    {
      std::lock_guard lock(status_mu);
      s = snapshot;
    }
    auto status = s.hub.upstream_alive ? http::status::ok : http::status::service_unavailable;
    co_return co_await write_response(stream,
                                      make_response(req, status, to_json(s).dump(), "application/json"));
  }
  co_return co_await reply(stream, req, http::status::not_found, "Not Found");
}

net::awaitable<std::optional<std::string>> Endpoint::Impl::require_session(beast::tcp_stream& stream,
                                                                           const Request& req) {
  auto id = header(req, "Mcp-Session-Id");
  if (!id) {
    co_await reply_rpc_error(stream, req, http::status::bad_request, rpc::kInvalidRequest,
                             "Bad Request: Mcp-Session-Id header is required");
    co_return std::nullopt;
  }
  std::string session(*id);
  if (!hub.has_session(session)) {
    co_await reply_rpc_error(stream, req, http::status::not_found, rpc::kSessionClosed, "Session not found");
    co_return std::nullopt;
  }
  if (auto problem = check_protocol_version_header(header(req, "MCP-Protocol-Version"))) {
    co_await reply_rpc_error(stream, req, http::status::bad_request, rpc::kInvalidRequest, *problem);
    co_return std::nullopt;
  }
  co_return session;
}

namespace {

bool is_initialize(const json& m) {
  return classify(m) == MessageKind::request && m["method"] == "initialize";
}

bool has_progress_token(const json& m) {
  auto p = m.find("params");
  return p != m.end() && p->is_object() && p->contains("_meta") && (*p)["_meta"].is_object() &&
         (*p)["_meta"].contains("progressToken");
}

}  // namespace

net::awaitable<bool> Endpoint::Impl::post_mcp(beast::tcp_stream& stream, Request& req) {
  auto content_type = header(req, "Content-Type");
  if (!content_type || content_type->substr(0, 16) != "application/json")
    co_return co_await reply_rpc_error(stream, req, http::status::unsupported_media_type,
                                       rpc::kInvalidRequest,
                                       "Unsupported Media Type: Content-Type must be application/json");
  AcceptPrefs accept = parse_accept(header(req, "Accept").value_or("*/*"));
  if (!accept.json && !accept.sse)
    co_return co_await reply_rpc_error(stream, req, http::status::not_acceptable, rpc::kInvalidRequest,
                                       "Not Acceptable: accept application/json and text/event-stream");
  ParsedBody body = parse_body(req.body());
  if (!body.ok)
    co_return co_await write_response(
        stream, make_response(req, http::status::bad_request, body.error.dump(), "application/json"));

  std::string session;
  std::optional<std::string> created;
  const bool init = std::any_of(body.messages.begin(), body.messages.end(), is_initialize);
  if (init) {
    if (body.messages.size() != 1)
      co_return co_await reply_rpc_error(stream, req, http::status::bad_request, rpc::kInvalidRequest,
                                         "Invalid Request: initialize must be sent alone");
    if (header(req, "Mcp-Session-Id"))
      co_return co_await reply_rpc_error(
          stream, req, http::status::bad_request, rpc::kInvalidRequest,
          "Invalid Request: initialize starts a new session; drop Mcp-Session-Id");
    created = hub.create_session(SessionKind::streamable_http);
    if (!created)
      co_return co_await reply_rpc_error(stream, req, http::status::service_unavailable,
                                         rpc::kServerUnavailable, "too many sessions");
    session = *created;
  } else {
    auto s = co_await require_session(stream, req);
    if (!s) co_return req.keep_alive();
    session = *s;
    if (body.batch && !batches_allowed(hub.session_protocol_version(session)))
      co_return co_await reply_rpc_error(
          stream, req, http::status::bad_request, rpc::kInvalidRequest,
          "Invalid Request: JSON-RPC batches are not allowed in protocol revision " +
              hub.session_protocol_version(session));
  }

  size_t requests = 0;
  bool wants_stream = !accept.json;
  for (const json& m : body.messages)
    if (classify(m) == MessageKind::request) {
      ++requests;
      wants_stream |= accept.sse && has_progress_token(m);
    }
  if (requests == 0) {
    for (json& m : body.messages) hub.from_client(session, 0, std::move(m));
    auto res = make_response(req, http::status::accepted, "");
    res.erase(http::field::content_type);
    co_return co_await write_response(stream, std::move(res));
  }

  if (wants_stream) {
    auto sink = std::make_shared<SseSink>(stream.get_executor());
    Hub::StreamId id = hub.open_post_stream(session, sink, false, requests);
    for (json& m : body.messages) hub.from_client(session, id, std::move(m));
    co_return co_await stream_sse(stream, req, session, sink, created);
  }
  auto sink = std::make_shared<JsonSink>(stream.get_executor());
  Hub::StreamId id = hub.open_post_stream(session, sink, true, requests);
  for (json& m : body.messages) hub.from_client(session, id, std::move(m));
  while (!sink->finished()) co_await sink->wait(std::chrono::hours(1));
  hub.detach(session, sink.get());
  auto res = make_response(req, http::status::ok, sink->body(body.batch), "application/json");
  if (created) res.set("Mcp-Session-Id", *created);
  co_return co_await write_response(stream, std::move(res));
}

// Writes an SSE response from sink until the hub finishes the stream or the client goes away.
net::awaitable<bool> Endpoint::Impl::stream_sse(beast::tcp_stream& stream, const Request& req,
                                                const std::string& session, std::shared_ptr<SseSink> sink,
                                                std::optional<std::string> new_session_header) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache, no-transform");
  if (new_session_header) res.set("Mcp-Session-Id", *new_session_header);
  res.keep_alive(req.keep_alive());
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  beast::error_code ec;
  stream.expires_after(kWriteTimeout);
  co_await http::async_write_header(stream, serializer, net::redirect_error(net::use_awaitable, ec));
  while (!ec && !stopping && !sink->overflowed()) {
    if (sink->has_data()) {
      std::string data = sink->take();
      stream.expires_after(kWriteTimeout);
      co_await net::async_write(stream, http::make_chunk(net::buffer(data)),
                                net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    if (sink->finished()) break;
    if (!co_await sink->wait(config.keepalive_interval) && !sink->has_data() && !sink->finished())
      sink->raw(": keep-alive\n\n");
  }
  hub.detach(session, sink.get());
  if (ec || !sink->finished() || stopping) co_return false;  // the client went away or fell too far behind
  stream.expires_after(kWriteTimeout);
  co_await net::async_write(stream, http::make_chunk_last(), net::redirect_error(net::use_awaitable, ec));
  co_return !ec && req.keep_alive();
}

net::awaitable<bool> Endpoint::Impl::get_mcp(beast::tcp_stream& stream, Request& req) {
  if (!parse_accept(header(req, "Accept").value_or("")).sse)
    co_return co_await reply(stream, req, http::status::not_acceptable,
                             "Not Acceptable: GET /mcp opens an event stream; accept text/event-stream");
  auto session = co_await require_session(stream, req);
  if (!session) co_return req.keep_alive();
  auto sink = std::make_shared<SseSink>(stream.get_executor());
  auto last_event = header(req, "Last-Event-ID");
  if (!last_event || !hub.resume(*session, std::string(*last_event), sink))
    hub.attach_standalone(*session, sink);
  co_return co_await stream_sse(stream, req, *session, sink, std::nullopt);
}

net::awaitable<bool> Endpoint::Impl::delete_mcp(beast::tcp_stream& stream, Request& req) {
  auto session = co_await require_session(stream, req);
  if (!session) co_return req.keep_alive();
  hub.close_session(*session);
  co_return co_await reply(stream, req, http::status::ok, "session closed");
}

// Legacy HTTP+SSE transport (2024-11-05): the stream's first event names the URL to POST messages to.
net::awaitable<bool> Endpoint::Impl::get_sse(beast::tcp_stream& stream, Request& req) {
  auto session = hub.create_session(SessionKind::legacy_sse);
  if (!session)
    co_return co_await reply(stream, req, http::status::service_unavailable,
                             "Service Unavailable: too many sessions");
  auto sink = std::make_shared<SseSink>(stream.get_executor());
  sink->raw(format_sse_event("", "endpoint", "/messages?session_id=" + *session));
  hub.attach_standalone(*session, sink);
  co_await stream_sse(stream, req, *session, sink, std::nullopt);
  hub.close_session(*session);  // the stream is the session
  co_return false;
}

net::awaitable<bool> Endpoint::Impl::post_messages(beast::tcp_stream& stream, Request& req) {
  auto session = query_param(req, "session_id");
  if (!session) session = query_param(req, "sessionId");
  if (!session)
    co_return co_await reply(stream, req, http::status::bad_request, "Bad Request: session_id is required");
  if (!hub.has_session(*session))
    co_return co_await reply(stream, req, http::status::not_found, "Session not found");
  ParsedBody body = parse_body(req.body());
  if (!body.ok)
    co_return co_await write_response(
        stream, make_response(req, http::status::bad_request, body.error.dump(), "application/json"));
  Hub::StreamId standalone = hub.standalone_stream(*session);
  for (json& m : body.messages) hub.from_client(*session, standalone, std::move(m));
  co_return co_await write_response(stream, make_response(req, http::status::accepted, "Accepted"));
}

// ---- Endpoint -----------------------------------------------------------------------------------

void Endpoint::Impl::install(const Upstream& next) {
  retire("the MCP server was replaced");
  ++generation;
  LinkSlot slot;
  slot.peer = std::make_unique<HubPeer>(hub, generation);
  if (auto* stdio = std::get_if<StdioUpstream>(&next))
    slot.link = make_stdio_link(io, *stdio, config.max_message_bytes, *slot.peer);
  else
    slot.link = make_http_link(io, std::get<HttpUpstream>(next), config.max_message_bytes, *slot.peer);
  upstream = std::move(slot);
  unavailable_reason.clear();
  hub.upstream_attached();
  upstream.link->start();
}

void Endpoint::Impl::retire(const std::string& reason) {
  if (!upstream.link) return;
  upstream.link->stop();
  retired.push_back(std::move(upstream));
  upstream = {};
  unavailable_reason = reason;
  ++generation;  // what the old link still delivers is dropped
  hub.end_generation(reason);
}

void Endpoint::Impl::reap_retired() {
  std::erase_if(retired, [](const LinkSlot& slot) { return slot.link->idle(); });
}

void Endpoint::Impl::on_loop(const std::function<void()>& fn) {
  std::lock_guard control(control_mu);
  if (!serving) {
    fn();
    return;
  }
  struct Outcome {
    bool done = false;
    std::exception_ptr error;
  };
  auto outcome = std::make_shared<Outcome>();
  net::post(io, [this, fn, outcome] {
    std::exception_ptr error;
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(loop_mu);
    outcome->done = true;
    outcome->error = error;
    loop_cv.notify_all();
  });
  std::unique_lock lock(loop_mu);
  loop_cv.wait(lock, [&] { return outcome->done || loop_ended; });
  if (!outcome->done) fail("the MCP endpoint stopped");
  if (outcome->error) std::rethrow_exception(outcome->error);
}

// ---- Endpoint -----------------------------------------------------------------------------------

Endpoint::Endpoint(EndpointConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  impl_->bind();
  if (impl_->config.upstream) {
    impl_->install(*impl_->config.upstream);
  } else {
    impl_->unavailable_reason = "no server is attached yet";
    impl_->hub.end_generation(impl_->unavailable_reason);
  }
  impl_->refresh_snapshot(false);
}

Endpoint::~Endpoint() {
  // Coroutines still suspended on the io_context refer to impl_: destroy them before the rest.
  impl_->upstream = {};
  impl_->retired.clear();
  impl_->io.stop();
}

uint16_t Endpoint::port() const {
  return impl_->urls.port;  // set once by bind(): safe from any thread, unlike the acceptor
}
std::string Endpoint::url() const {
  return impl_->urls.streamable_http();
}
std::string Endpoint::sse_url() const {
  return impl_->urls.sse();
}

void Endpoint::run() {
  std::signal(SIGPIPE, SIG_IGN);  // a server that died under our write must not kill the host process
  Impl& i = *impl_;
  {
    std::lock_guard control(i.control_mu);
    i.serving = true;
  }
  net::co_spawn(i.io, i.accept_loop(), net::detached);
  net::co_spawn(i.io, i.tick_loop(), net::detached);
  i.refresh_snapshot(true);
  i.io.run();
  {
    std::lock_guard lock(i.loop_mu);
    i.loop_ended = true;
  }
  i.loop_cv.notify_all();
  std::lock_guard control(i.control_mu);
  i.serving = false;
  i.refresh_snapshot(false);
}

void Endpoint::stop() {
  Impl& i = *impl_;
  net::post(i.io, [&i] {
    i.stopping = true;
    beast::error_code ec;
    i.acceptor.close(ec);
    i.ticker.cancel();
    if (i.upstream.link) i.upstream.link->stop();
    i.io.stop();
  });
}

void Endpoint::attach_upstream(Upstream upstream) {
  impl_->on_loop([&] { impl_->install(upstream); });
}

void Endpoint::detach_upstream(const std::string& reason) {
  impl_->on_loop([&] { impl_->retire(reason); });
}

EndpointStatus Endpoint::status() const {
  std::lock_guard lock(impl_->status_mu);
  return impl_->snapshot;
}

}  // namespace mcpvm::mcp
