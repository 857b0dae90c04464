// The HTTP link: one MCP client session to a server that speaks streamable HTTP or legacy SSE (an MCP
// server in a guest, reached through a forwarded loopback port; or an mcpvm endpoint, for `mcpvm proxy`).
//
// A lost session (streamable HTTP): when the server answers 404 to a request that carried our
// Mcp-Session-Id (it restarted, or expired the session; also a 400 that names the session, see
// forgot_session()), the link opens a new session on its own — the
// first initialize again (same params, private id, answer swallowed), notifications/initialized, a new
// GET stream — and then replays the requests that got the 404: the server never processed them, so a
// replay cannot run anything twice. Notifications and responses that got the 404 belonged to the old
// session and are dropped. Requests whose connection broke mid-answer may have run: they fail with
// -32000. If re-initializing fails, the waiting requests fail with -32000 "…re-initializing failed: …"
// and the next request tries again; a request that meets a lost session a third time fails too.
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <deque>
#include <functional>
#include <map>

#include "mcp/protocol.h"
#include "mcp/upstream_link.h"
#include "util/backoff.h"
#include "util/error.h"
#include "util/log.h"
#include "util/port.h"

namespace mcpvm::mcp {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

HttpUpstream parse_http_url(const std::string& url, HttpUpstream::Transport transport) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) fail("'{}' is not an http:// URL", url);
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  HttpUpstream u;
  u.transport = transport;
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  if (colon == std::string::npos || (authority.front() == '[' && authority.back() == ']')) {
    u.host = authority;
    u.port = 80;
  } else {
    u.host = authority.substr(0, colon);
    u.port = with_context(fmt::format("'{}'", url), [&] { return parse_port(authority.substr(colon + 1)); });
  }
  if (!u.host.empty() && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
  if (u.host == "localhost") u.host = "127.0.0.1";
  if (u.host.empty()) fail("'{}' has no host", url);
  return u;
}

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kResponseHeaderTimeout = std::chrono::minutes(10);
constexpr size_t kMaxIdleConnections = 16;

// TCP, or a Unix socket (an HTTP server in a guest, reached through the runner's own socket in the VM's
// private directory): one stream type for both.
using Stream = beast::basic_stream<net::generic::stream_protocol>;

net::generic::stream_protocol::endpoint upstream_endpoint(const HttpUpstream& c) {
  if (!c.unix_socket.empty()) return net::local::stream_protocol::endpoint(c.unix_socket);
  beast::error_code ec;
  auto address = net::ip::make_address(c.host, ec);
  if (ec) fail("upstream host '{}' must be an IP address", c.host);
  return tcp::endpoint(address, c.port);
}

std::unique_ptr<Stream> new_stream(net::io_context& io) {
  return std::make_unique<Stream>(io);
}

// After connecting: small requests must not wait for Nagle (TCP only; a Unix socket has no such option).
void no_delay(Stream& s) {
  beast::error_code ec;
  if (s.socket().local_endpoint(ec).protocol().family() != AF_UNIX)
    s.socket().set_option(tcp::no_delay(true), ec);
}

std::string header_value(const http::fields& f, std::string_view name) {
  auto it = f.find(beast::string_view(name.data(), name.size()));
  return it == f.end() ? std::string() : std::string(it->value());
}

class HttpLink : public UpstreamLink {
 public:
  HttpLink(net::io_context& io, HttpUpstream config, size_t max_message, MessagePeer& peer)
      : io_(io), config_(std::move(config)), max_message_(max_message), peer_(peer) {
    if (config_.path.empty())
      config_.path = config_.transport == HttpUpstream::Transport::sse ? "/sse" : "/mcp";
    endpoint_ = upstream_endpoint(config_);
    host_header_ =
        config_.unix_socket.empty() ? fmt::format("{}:{}", config_.host, config_.port) : "localhost";
  }

  void start() override {
    if (config_.transport == HttpUpstream::Transport::sse) spawn(sse_loop());
  }

  bool idle() const override { return active_ == 0; }

  void send(const json& message) override {
    if (stopped_) return;
    if ((config_.transport == HttpUpstream::Transport::sse && post_path_.empty()) || barrier_) {
      held_.push_back(message);
      return;
    }
    // initialize and notifications/initialized must be processed before anything else (servers set up
    // per-session state there), but POSTs on separate connections race: hold later messages until
    // these two were answered.
    const std::string method = message.value("method", "");
    const bool barrier = method == "initialize" || method == "notifications/initialized";
    if (barrier) barrier_ = true;
    spawn(post(message), [this, barrier] {
      if (barrier) release_held();
    });
  }

  void release_held() {
    barrier_ = false;
    auto held = std::exchange(held_, {});
    for (size_t i = 0; i < held.size(); ++i) {
      if (barrier_) {  // a new barrier among the held messages: keep the rest waiting in order
        held_.insert(held_.end(), held.begin() + static_cast<long>(i), held.end());
        return;
      }
      send(held[i]);
    }
  }

  void stop() override {
    stopped_ = true;
    idle_.clear();
    if (get_stream_) {
      beast::error_code ec;
      get_stream_->socket().close(ec);
    }
  }

 private:
  // Every coroutine of the link goes through here, so idle() knows when none is left.
  void spawn(net::awaitable<void> work, std::function<void()> then = {}) {
    ++active_;
    net::co_spawn(io_, std::move(work), [this, then = std::move(then)](std::exception_ptr) {
      --active_;
      if (then && !stopped_) then();
    });
  }

  net::awaitable<std::unique_ptr<Stream>> connection() {
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      co_return s;
    }
    auto s = new_stream(io_);
    s->expires_after(kConnectTimeout);
    co_await s->async_connect(endpoint_, net::use_awaitable);
    no_delay(*s);
    co_return s;
  }

  http::request<http::string_body> make_request(http::verb verb, const std::string& path) const {
    http::request<http::string_body> req{verb, path, 11};
    req.set(http::field::host, host_header_);
    req.set(http::field::user_agent, "mcpvm");
    if (!session_id_.empty()) req.set("Mcp-Session-Id", session_id_);
    if (!protocol_version_.empty()) req.set("MCP-Protocol-Version", protocol_version_);
    if (!config_.bearer_token.empty()) req.set(http::field::authorization, "Bearer " + config_.bearer_token);
    return req;
  }

  // Reads a response body, handing each JSON-RPC message to the peer (JSON body or SSE events).
  // `standalone`: the session's GET stream, the only one whose event ids a later GET may resume from (a
  // POST's stream has ids of its own: sent as Last-Event-ID on a GET, they make the server replay that
  // stream instead of opening the session's, and every message outside a request is lost).
  net::awaitable<void> read_body(Stream& s, beast::flat_buffer& buf,
                                 http::response_parser<http::string_body>& parser, bool sse,
                                 bool standalone = false) {
    if (!sse) {
      co_await http::async_read(s, buf, parser, net::use_awaitable);
      deliver_json(parser.get().body());
      co_return;
    }
    SseParser events(max_message_);
    while (!parser.is_done()) {
      s.expires_never();
      co_await http::async_read_some(s, buf, parser, net::use_awaitable);
      std::string& body = parser.get().body();
      for (auto& e : events.feed(body)) on_event(e, standalone);
      body.clear();
      if (events.failed())
        throw std::runtime_error(fmt::format(
            "the server's SSE stream broke the message limit ({} bytes) in one line or event", max_message_));
      if (stopped_) co_return;
    }
  }

  void deliver_json(const std::string& text) {
    bool too_deep = false;
    json doc = parse_untrusted_json(text, &too_deep);
    if (doc.is_array()) {
      for (auto& m : doc) deliver(std::move(m));
    } else if (doc.is_object()) {
      deliver(std::move(doc));
    } else if (!text.empty()) {
      peer_.on_junk(text, too_deep ? too_deep_reason() : "not JSON-RPC");
    }
  }

  void on_event(const SseParser::Event& e, bool standalone) {
    if (e.event == "endpoint") return set_endpoint(e.data);
    if (e.event != "message") return;
    if (standalone && !e.id.empty()) last_event_id_ = e.id;
    if (e.data.empty()) return;  // a priming event (2025-11-25) carries an id and no data
    deliver_json(e.data);
  }

  void deliver(json m) {
    // The initialize answer fixes the revision later requests announce in MCP-Protocol-Version.
    if (m.contains("result") && m["result"].is_object() && m["id"] == initialize_id_ &&
        m["result"].contains("protocolVersion") && m["result"]["protocolVersion"].is_string()) {
      protocol_version_ = m["result"]["protocolVersion"];
      initialized_ = true;
    }
    peer_.on_message(std::move(m));
  }

  // An answer for a request that never reached the server.
  void fail_request(const json& message, const std::string& why) {
    if (classify(message) != MessageKind::request) {
      log::warn("mcp: could not deliver a message upstream: {}", why);
      return;
    }
    peer_.on_message(make_error(message["id"], rpc::kServerUnavailable, "MCP server unavailable: " + why));
  }

  net::awaitable<void> post(json message) {
    const bool is_init = classify(message) == MessageKind::request && message["method"] == "initialize";
    if (is_init) {
      initialize_id_ = message["id"];
      init_request_ = message;
    }
    const bool is_initialized_note = message.value("method", "") == "notifications/initialized";
    std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = !idle_.empty();
      std::unique_ptr<Stream> s;
      const std::string sent_session = session_id_;
      try {
        s = co_await connection();
        auto req = make_request(http::verb::post, post_path_.empty() ? config_.path : post_path_);
        req.set(http::field::content_type, "application/json");
        req.set(http::field::accept, "application/json, text/event-stream");
        req.body() = body;
        req.prepare_payload();
        s->expires_after(kConnectTimeout);
        co_await http::async_write(*s, req, net::use_awaitable);
        beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(max_message_ * 4);
        s->expires_after(kResponseHeaderTimeout);
        co_await http::async_read_header(*s, buf, parser, net::use_awaitable);
        auto& res = parser.get();
        if (std::string sid = header_value(res, "Mcp-Session-Id"); !sid.empty() && is_init) session_id_ = sid;
        const unsigned status = res.result_int();
        const bool sse = header_value(res, "Content-Type").rfind("text/event-stream", 0) == 0;
        if (status >= 200 && status < 300) {
          if (!replays_.empty() && classify(message) == MessageKind::request)
            replays_.erase(message["id"].dump());
          if (status != 202 && !(parser.is_done()))
            co_await read_body(*s, buf, parser, sse);
          else if (!parser.is_done())
            co_await http::async_read(*s, buf, parser, net::use_awaitable);
        } else {
          if (!parser.is_done()) co_await http::async_read(*s, buf, parser, net::use_awaitable);
          std::string detail = res.body().substr(0, 300);
          if (!sent_session.empty() && forgot_session(status, detail) &&
              lost_session(message, sent_session, status)) {
            if (res.keep_alive() && idle_.size() < kMaxIdleConnections && !stopped_)
              idle_.push_back(std::move(s));
            co_return;
          }
          fail_request(message, fmt::format("HTTP {} from the server: {}", status, detail));
        }
        if (res.keep_alive() && idle_.size() < kMaxIdleConnections && !stopped_)
          idle_.push_back(std::move(s));
        if (is_initialized_note && config_.transport == HttpUpstream::Transport::streamable_http)
          spawn(get_stream());
        co_return;
      } catch (const std::exception& e) {
        // A pooled connection the server closed meanwhile (Node closes idle ones after 5 s): the other
        // idle ones are probably stale too; retry once on a fresh connection.
        if (reused && attempt == 0) {
          idle_.clear();
          continue;
        }
        fail_request(message, e.what());
        co_return;
      }
    }
  }

  // The spec's answer to an unknown Mcp-Session-Id is 404. Servers built on the SDK's Express examples
  // (server-everything among them) answer 400 "Bad Request: No valid session ID provided" instead.
  static bool forgot_session(unsigned status, const std::string& body) {
    if (status == 404) return true;
    if (status != 400) return false;
    std::string lower = body;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return lower.find("session") != std::string::npos;
  }

  // A 404 (or 400, see above) for `message`, sent with session `sent`: the server does not know that session
  // (any more). Returns true when the message is taken care of (queued for replay after a new session, or
  // dropped).
  bool lost_session(const json& message, const std::string& sent, unsigned status) {
    if (config_.transport != HttpUpstream::Transport::streamable_http || !init_request_.is_object() ||
        stopped_)
      return false;
    if (classify(message) != MessageKind::request) {
      log::info("mcp: dropping a {} for the server's lost session", message.value("method", "response"));
      return true;
    }
    if (sent != session_id_ && !reinitializing_) {  // a new session exists already: just resend
      send(message);
      return true;
    }
    if (++replays_[message["id"].dump()] > 2) {  // the new session was forgotten at once, twice: give up
      replays_.erase(message["id"].dump());
      return false;
    }
    held_.insert(held_.begin(), message);
    barrier_ = true;
    if (!reinitializing_) {
      reinitializing_ = true;
      log::warn("mcp: the MCP server at {}{} no longer knows session {} (HTTP {}): opening a new one",
                host_header_, config_.path, sent, status);
      spawn(reinitialize());
    }
    return true;
  }

  // One POST on a fresh connection whose answer is for us, not the peer: returns the JSON-RPC response
  // to `message` (null for a notification). Records a new Mcp-Session-Id.
  net::awaitable<json> post_private(const json& message) {
    auto s = new_stream(io_);
    s->expires_after(kConnectTimeout);
    co_await s->async_connect(endpoint_, net::use_awaitable);
    auto req = make_request(http::verb::post, config_.path);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json, text/event-stream");
    req.body() = message.dump();
    req.prepare_payload();
    co_await http::async_write(*s, req, net::use_awaitable);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_message_ * 4);
    s->expires_after(std::chrono::seconds(60));
    co_await http::async_read_header(*s, buf, parser, net::use_awaitable);
    auto& res = parser.get();
    if (std::string sid = header_value(res, "Mcp-Session-Id"); !sid.empty()) session_id_ = sid;
    if (res.result_int() < 200 || res.result_int() >= 300)
      throw std::runtime_error(
          fmt::format("{} answered HTTP {}", message.value("method", "?"), res.result_int()));
    if (res.result_int() == 202 || !message.contains("id")) co_return json();
    const bool sse = header_value(res, "Content-Type").rfind("text/event-stream", 0) == 0;
    auto is_answer = [&](const json& m) { return m.is_object() && m.value("id", json()) == message["id"]; };
    SseParser events(max_message_);
    for (;;) {
      if (sse) {  // an SSE answer: the stream may stay open after the response
        for (auto& e : events.feed(res.body())) {
          json m = parse_untrusted_json(e.data);
          if (e.event == "message" && is_answer(m)) co_return m;
        }
        res.body().clear();
      }
      if (parser.is_done()) break;
      co_await http::async_read_some(*s, buf, parser, net::use_awaitable);
    }
    if (json m = parse_untrusted_json(res.body()); !sse && is_answer(m)) co_return m;
    throw std::runtime_error(fmt::format("no answer to {} from the server", message.value("method", "?")));
  }

  net::awaitable<void> reinitialize() {
    std::string why;
    const std::string old_session = session_id_;
    try {
      session_id_.clear();  // initialize opens a session: it must not name one
      if (get_stream_) {
        beast::error_code ec;
        get_stream_->socket().close(ec);
      }
      ++stream_generation_;
      last_event_id_.clear();  // ids of the old session's stream mean nothing in the new one
      json init = init_request_;
      init["id"] = fmt::format("mcpvm-reinit-{}", ++reinit_count_);
      json answer = co_await post_private(init);
      if (!answer.contains("result") || !answer["result"].is_object())
        throw std::runtime_error("the server refused initialize: " + answer.dump().substr(0, 300));
      if (answer["result"].contains("protocolVersion") && answer["result"]["protocolVersion"].is_string())
        protocol_version_ = answer["result"]["protocolVersion"];
      json initialized = json::object();  // (no braced init of json inside co_await: g++ 12 rejects it)
      initialized["jsonrpc"] = "2.0";
      initialized["method"] = "notifications/initialized";
      co_await post_private(initialized);
      log::info("mcp: new session {} with the MCP server; replaying {} request(s)", session_id_,
                held_.size());
      spawn(get_stream());
    } catch (const std::exception& e) {
      why = e.what();
    }
    reinitializing_ = false;
    if (stopped_) co_return;
    if (why.empty()) {
      release_held();
      co_return;
    }
    log::warn("mcp: re-initializing with the MCP server failed: {}", why);
    session_id_ = old_session;  // the next request meets the lost session again and tries once more
    barrier_ = false;
    for (auto& m : std::exchange(held_, {})) {
      if (m.contains("id")) replays_.erase(m["id"].dump());
      fail_request(m, "the server forgot our session and re-initializing failed: " + why);
    }
  }

  // The standalone GET stream of a streamable HTTP session: server notifications and requests.
  net::awaitable<void> get_stream() {
    const uint64_t generation = stream_generation_;
    Backoff backoff(std::chrono::milliseconds(200), std::chrono::milliseconds(3200));
    for (int attempt = 0; attempt < 5 && !stopped_ && generation == stream_generation_; ++attempt) {
      try {
        auto s = new_stream(io_);
        s->expires_after(kConnectTimeout);
        co_await s->async_connect(endpoint_, net::use_awaitable);
        auto req = make_request(http::verb::get, config_.path);
        req.set(http::field::accept, "text/event-stream");
        if (!last_event_id_.empty()) req.set("Last-Event-ID", last_event_id_);
        co_await http::async_write(*s, req, net::use_awaitable);
        beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(boost::none);
        co_await http::async_read_header(*s, buf, parser, net::use_awaitable);
        if (parser.get().result() != http::status::ok) co_return;  // 405: the server offers no such stream
        get_stream_ = s.get();
        co_await read_body(*s, buf, parser, true, /*standalone=*/true);
        get_stream_ = nullptr;
      } catch (const std::exception& e) {
        get_stream_ = nullptr;
        log::debug("mcp: upstream GET stream: {}", e.what());
      }
      net::steady_timer wait(io_, backoff.next());
      co_await wait.async_wait(net::use_awaitable);
    }
  }

  void set_endpoint(const std::string& data) {
    std::string path = data;
    if (path.rfind("http://", 0) == 0) {
      auto slash = path.find('/', 7);
      path = slash == std::string::npos ? "/" : path.substr(slash);
    } else if (path.empty() || path.front() != '/') {
      path = config_.path.substr(0, config_.path.rfind('/') + 1) + path;
    }
    post_path_ = path;
    release_held();
  }

  // Legacy SSE: one long GET; its first event names the POST endpoint, the rest are messages.
  net::awaitable<void> sse_loop() {
    // Until the stream is up, connection failures are retried (100 ms doubling to 2 s, for up to 5 min):
    // in a VM the link starts before the server listens. Once it was up, its end ends the upstream.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    std::string reason;
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
    for (;;) {
      bool answered = false;  // a wrong status (or a stream that ended) is final, a refused connection is not
      try {
        auto s = new_stream(io_);
        s->expires_after(kConnectTimeout);
        co_await s->async_connect(endpoint_, net::use_awaitable);
        auto req = make_request(http::verb::get, config_.path);
        req.set(http::field::accept, "text/event-stream");
        co_await http::async_write(*s, req, net::use_awaitable);
        beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(boost::none);
        co_await http::async_read_header(*s, buf, parser, net::use_awaitable);
        answered = true;
        if (parser.get().result() != http::status::ok)
          throw std::runtime_error(
              fmt::format("GET {} answered HTTP {}", config_.path, parser.get().result_int()));
        get_stream_ = s.get();
        co_await read_body(*s, buf, parser, true, /*standalone=*/true);
        reason = "the MCP server closed its SSE stream";
      } catch (const std::exception& e) {
        reason =
            fmt::format("SSE stream to the MCP server at {}{}: {}", host_header_, config_.path, e.what());
      }
      get_stream_ = nullptr;
      const auto delay = backoff.next();
      if (stopped_ || answered || std::chrono::steady_clock::now() + delay > give_up) break;
      log::debug("mcp: {}; retrying in {} ms", reason, delay.count());
      net::steady_timer wait(io_, delay);
      co_await wait.async_wait(net::use_awaitable);
      if (stopped_) co_return;
    }
    if (stopped_) co_return;
    for (auto& m : std::exchange(held_, {})) fail_request(m, reason);
    peer_.on_closed(reason);
  }

  net::io_context& io_;
  HttpUpstream config_;
  size_t max_message_;
  MessagePeer& peer_;
  net::generic::stream_protocol::endpoint endpoint_;
  std::string host_header_;
  std::string session_id_;
  std::string protocol_version_;
  std::string last_event_id_;
  std::string post_path_;  // legacy SSE: from the endpoint event
  json initialize_id_;
  json init_request_;  // the first initialize, replayed to open a new session after a 404
  bool reinitializing_ = false;
  std::map<std::string, int> replays_;  // request id -> times it met a lost session
  uint64_t reinit_count_ = 0;
  uint64_t stream_generation_ = 0;  // a GET stream of an older session stops retrying
  bool initialized_ = false;
  bool stopped_ = false;
  int active_ = 0;          // coroutines spawned and not yet ended
  std::vector<json> held_;  // until the SSE endpoint is known, or behind an initialize barrier
  bool barrier_ = false;
  std::vector<std::unique_ptr<Stream>> idle_;
  Stream* get_stream_ = nullptr;
};

}  // namespace

std::unique_ptr<UpstreamLink> make_http_link(net::io_context& io, const HttpUpstream& config,
                                             size_t max_message, MessagePeer& peer) {
  return std::make_unique<HttpLink>(io, config, max_message, peer);
}

}  // namespace mcpvm::mcp
