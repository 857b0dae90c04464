// mcp::Endpoint embedded the way the runner will use it: a stdio server on a pair of fds, the endpoint
// on its own thread, status() read from another thread. Real processes (mcpvm-demo-server), real HTTP
// (libcurl) on 127.0.0.1.
#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

#include "loopback_server.h"
#include "mcp/bearer_auth.h"
#include "mcp/endpoint.h"
#include "util/fd.h"
#include "util/process.h"

namespace mcpvm::mcp {
namespace {

struct HttpResult {
  long status = 0;
  std::string body;
  std::string session;
  std::string headers;  // every response header line, as received
};

size_t collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t header_line(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  static_cast<HttpResult*>(out)->headers += line;
  const std::string name = "mcp-session-id:";
  if (line.size() > name.size() && strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
    std::string v = line.substr(name.size());
    v.erase(0, v.find_first_not_of(' '));
    v.erase(v.find_last_not_of("\r\n") + 1);
    static_cast<HttpResult*>(out)->session = v;
  }
  return size * n;
}

HttpResult http(const std::string& method, const std::string& url, const std::string& body,
                const std::string& session = "", const std::vector<std::string>& extra_headers = {}) {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_slist* h = nullptr;
  for (const auto& line : extra_headers) h = curl_slist_append(h, line.c_str());
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Accept: application/json, text/event-stream");
  if (!session.empty()) h = curl_slist_append(h, ("Mcp-Session-Id: " + session).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r;
}

// Reads an SSE stream (GET) for `ms` milliseconds and returns what arrived.
std::string read_stream_for(const std::string& url, const std::string& session, long ms) {
  std::string body;
  CURL* c = curl_easy_init();
  curl_slist* h = curl_slist_append(nullptr, "Accept: text/event-stream");
  if (!session.empty()) h = curl_slist_append(h, ("Mcp-Session-Id: " + session).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_perform(c);  // ends with a timeout: the stream stays open
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return body;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Polls pred until it holds or 5 s pass (status() is a snapshot refreshed a few times a second).
bool eventually(const std::function<bool()>& pred) {
  for (int i = 0; i < 100; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

std::string demo_server() {
  const char* dir = std::getenv("MCPVM_BIN_DIR");
  return std::string(dir ? dir : "build/bin") + "/mcpvm-demo-server";
}

// POSTs an MCP initialize to url; the session id it got.
std::string initialize_session(const std::string& url) {
  auto r = http("POST", url,
                R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
                R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.session;
}

class EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int in[2], out[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
    SpawnOptions o;
    o.fds = {{in_r.get(), 0}, {out_w.get(), 1}};
    server_ = Subprocess::spawn({demo_server()}, o);
    endpoint_ = std::make_unique<Endpoint>(EndpointConfig{.upstream = StdioUpstream{out_r.get(), in_w.get()},
                                                          .request_timeout = std::chrono::seconds(2),
                                                          .bearer_token = bearer_token_,
                                                          .keepalive_interval = keepalive_});
    thread_ = std::thread([this] { endpoint_->run(); });
  }
  void TearDown() override {
    endpoint_->stop();
    thread_.join();
  }

  std::string initialize() {
    std::string session = initialize_session(endpoint_->url());
    EXPECT_EQ(session.size(), 32u);
    return session;
  }

  std::chrono::milliseconds keepalive_{std::chrono::seconds(15)};
  std::string bearer_token_;
  Subprocess server_;
  std::unique_ptr<Endpoint> endpoint_;
  std::thread thread_;
};

TEST_F(EndpointTest, ServesLoopbackAndAnswersCalls) {
  EXPECT_EQ(endpoint_->url().rfind("http://127.0.0.1:", 0), 0u);
  std::string s = initialize();
  auto r = http(
      "POST", endpoint_->url(),
      R"({"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}})",
      s);
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["id"], "x");
  EXPECT_EQ(j["result"]["structuredContent"]["sum"], 3);
  EXPECT_TRUE(endpoint_->status().hub.upstream_alive);
}

TEST_F(EndpointTest, ServerCrashIsReportedAndEndsRequests) {
  std::string s = initialize();
  auto r = http(
      "POST", endpoint_->url(),
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exit","arguments":{"code":4}}})", s);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], -32000) << r.body;
  EXPECT_EQ(server_.wait().code(), 4);
  // status() is refreshed a few times a second.
  for (int i = 0; i < 40 && endpoint_->status().hub.upstream_alive; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EndpointStatus st = endpoint_->status();
  EXPECT_FALSE(st.hub.upstream_alive);
  EXPECT_NE(st.hub.upstream_error.find("closed its stdout"), std::string::npos) << st.hub.upstream_error;
  auto health = http("GET", endpoint_->url().substr(0, endpoint_->url().size() - 4) + "/health", "");
  EXPECT_EQ(health.status, 503);
  auto later = http("POST", endpoint_->url(), R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})", s);
  EXPECT_EQ(json::parse(later.body)["error"]["code"], -32000);
}

TEST_F(EndpointTest, TimeoutGivesJsonRpcError) {
  std::string s = initialize();
  auto r = http(
      "POST", endpoint_->url(),
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":5000}}})",
      s);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], -32001) << r.body;
  EXPECT_EQ(endpoint_->status().hub.requests_timed_out, 1u);
}

// DNS rebinding (issue 19): a browser page whose name was re-pointed at 127.0.0.1 sends its own name as
// Host. Every route refuses a Host that is not loopback, before any MCP handling.
TEST_F(EndpointTest, NonLoopbackHostIsRefusedOnEveryRoute) {
  const std::string base = endpoint_->url().substr(0, endpoint_->url().size() - 4);
  const std::string port = base.substr(base.rfind(':') + 1);
  const std::string init =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";
  for (const std::string& host : {"Host: evil.example:" + port, std::string("Host: evil.example"),
                                  "Host: 127.0.0.1.nip.io:" + port, std::string("Host:")}) {
    for (std::string path : {"/mcp", "/health", "/messages?session_id=x", "/nope"}) {
      auto r = http(path == "/health" || path == "/nope" ? "GET" : "POST", base + path, init, "", {host});
      EXPECT_EQ(r.status, 403) << host << " " << path << ": " << r.body;
      EXPECT_NE(r.body.find("Host"), std::string::npos) << r.body;
    }
    EXPECT_EQ(endpoint_->status().hub.sessions, 0u);
  }
  for (const std::string& host :
       {"Host: localhost:" + port, std::string("Host: LOCALHOST"), "Host: 127.0.0.2:" + port,
        "Host: [::1]:" + port, "Host: localhost.:" + port}) {
    auto r = http("POST", endpoint_->url(), init, "", {host});
    EXPECT_EQ(r.status, 200) << host << ": " << r.body;
  }
}

class BearerEndpointTest : public EndpointTest {
 protected:
  BearerEndpointTest() { bearer_token_ = new_bearer_token(); }
};

// Issue 16: with a token, every route answers 401 (with the RFC 6750 challenge) unless the request carries
// it, before any MCP handling; the right token gets through.
TEST_F(BearerEndpointTest, EveryRouteNeedsTheToken) {
  const std::string base = endpoint_->url().substr(0, endpoint_->url().size() - 4);
  const std::string init =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";
  const std::vector<std::vector<std::string>> wrong = {{},
                                                       {"Authorization: Bearer " + std::string(64, '0')},
                                                       {"Authorization: Bearer " + bearer_token_.substr(1)},
                                                       {"Authorization: Basic " + bearer_token_},
                                                       {"Authorization: " + bearer_token_}};
  for (const auto& headers : wrong) {
    for (std::string path : {"/mcp", "/sse", "/health", "/messages?session_id=x", "/nope"}) {
      bool get = path == "/sse" || path == "/health" || path == "/nope";
      auto r = http(get ? "GET" : "POST", base + path, init, "", headers);
      EXPECT_EQ(r.status, 401) << path << " " << (headers.empty() ? "(none)" : headers[0]);
      EXPECT_NE(r.headers.find("WWW-Authenticate: Bearer realm=\"mcpvm\""), std::string::npos) << r.headers;
      EXPECT_EQ(r.session, "");
    }
  }
  EXPECT_EQ(endpoint_->status().hub.sessions, 0u);
  auto ok = http("POST", endpoint_->url(), init, "", {"Authorization: Bearer " + bearer_token_});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto call = http(
      "POST", endpoint_->url(),
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}})",
      ok.session, {"Authorization: bearer  " + bearer_token_});
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(json::parse(call.body)["result"]["structuredContent"]["sum"], 5);
}

// The stdio proxy (and any HttpUpstream) sends the token it is given.
TEST_F(BearerEndpointTest, HttpUpstreamSendsItsToken) {
  Endpoint front(EndpointConfig{.upstream = [&] {
    HttpUpstream up = parse_http_url(endpoint_->url(), HttpUpstream::Transport::streamable_http);
    up.bearer_token = bearer_token_;
    return up;
  }()});
  std::thread t([&] { front.run(); });
  std::string s = initialize_session(front.url());
  auto call = http(
      "POST", front.url(),
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":4,"b":5}}})",
      s);
  front.stop();
  t.join();
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(json::parse(call.body)["result"]["structuredContent"]["sum"], 9) << call.body;
}

class KeepaliveTest : public EndpointTest {
 protected:
  KeepaliveTest() { keepalive_ = std::chrono::milliseconds(200); }
};

// Idle streams carry SSE comments, so proxies and clients with idle timeouts keep them open; the
// comments are not events (a client's parser skips them).
TEST_F(KeepaliveTest, IdleStreamsGetKeepaliveComments) {
  std::string s = initialize();
  std::string get = read_stream_for(endpoint_->url(), s, 1500);
  EXPECT_GE(count_of(get, ": keep-alive\n\n"), 3u) << get;
  EXPECT_EQ(count_of(get, "data:"), 0u) << get;

  std::string legacy = read_stream_for(endpoint_->sse_url(), "", 1500);
  EXPECT_EQ(legacy.rfind("event: endpoint\n", 0), 0u) << legacy;
  EXPECT_GE(count_of(legacy, ": keep-alive\n\n"), 3u) << legacy;
}

// A hostile MCP server on the endpoint's stdio fds, played by the test: every request line the
// endpoint writes is answered with what `script` returns (raw text, written as is); initialize gets a
// normal answer. Notifications and responses from the endpoint are ignored.
class ScriptedGuest {
 public:
  using Script = std::function<std::string(const json& request)>;
  explicit ScriptedGuest(Script script) : script_(std::move(script)) {
    int to_guest[2], from_guest[2];
    if (::pipe2(to_guest, O_CLOEXEC) != 0 || ::pipe2(from_guest, O_CLOEXEC) != 0) std::abort();
    guest_in_ = UniqueFd(to_guest[0]);
    endpoint_out_ = UniqueFd(to_guest[1]);
    endpoint_in_ = UniqueFd(from_guest[0]);
    guest_out_ = UniqueFd(from_guest[1]);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedGuest() {
    stop_ = true;
    thread_.join();
  }
  StdioUpstream upstream() const { return {endpoint_in_.get(), endpoint_out_.get()}; }

  static std::string answer(const json& id, const json& result) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}}.dump() + "\n";
  }

 private:
  void serve() {
    std::string buf;
    char chunk[65536];
    while (!stop_) {
      pollfd p{guest_in_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::read(guest_in_.get(), chunk, sizeof chunk);
      if (n <= 0) return;
      buf.append(chunk, static_cast<size_t>(n));
      for (size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1)) {
        json m = json::parse(buf.substr(0, nl), nullptr, false);
        if (!m.is_object() || !m.contains("method") || !m.contains("id")) continue;
        write_all(m["method"] == "initialize" ? initialize_answer(m["id"]) : script_(m));
      }
    }
  }
  static std::string initialize_answer(const json& id) {
    return answer(id, {{"protocolVersion", "2025-06-18"},
                       {"capabilities", {{"tools", json::object()}}},
                       {"serverInfo", {{"name", "scripted-guest"}, {"version", "1"}}}});
  }
  void write_all(const std::string& text) {
    for (size_t done = 0; done < text.size();) {
      ssize_t n = ::write(guest_out_.get(), text.data() + done, text.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  Script script_;
  UniqueFd guest_in_, guest_out_, endpoint_in_, endpoint_out_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// An endpoint in front of a ScriptedGuest.
class HostileGuestTest : public ::testing::Test {
 protected:
  void start(ScriptedGuest::Script script) {
    guest_ = std::make_unique<ScriptedGuest>(std::move(script));
    endpoint_ = std::make_unique<Endpoint>(
        EndpointConfig{.upstream = guest_->upstream(), .request_timeout = std::chrono::seconds(5)});
    thread_ = std::thread([this] { endpoint_->run(); });
  }
  void TearDown() override {
    if (endpoint_) {
      endpoint_->stop();
      thread_.join();
    }
  }
  std::string initialize() { return initialize_session(endpoint_->url()); }
  HttpResult call(const std::string& session, const std::string& tool, int id = 7) {
    json req = {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", {{"name", tool}}}};
    return http("POST", endpoint_->url(), req.dump(), session);
  }

  std::unique_ptr<ScriptedGuest> guest_;
  std::unique_ptr<Endpoint> endpoint_;
  std::thread thread_;
};

std::string nesting_bomb(size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

// Issue 19: ~2 MB of nested arrays used to overflow the endpoint's stack (the runner and its VM died).
TEST_F(EndpointTest, NestingBombBodyGetsParseErrorAndEndpointKeepsServing) {
  auto bare = http("POST", endpoint_->url(), nesting_bomb(1 << 20));
  EXPECT_EQ(bare.status, 400);
  EXPECT_EQ(json::parse(bare.body)["error"]["code"], -32700) << bare.body;
  EXPECT_NE(bare.body.find("deeper than 128 levels"), std::string::npos) << bare.body;
  std::string s = initialize();
  json deep_params = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"}};
  std::string body = deep_params.dump();
  body.insert(body.size() - 1, R"(,"params":)" + nesting_bomb(1 << 20));
  auto r = http("POST", endpoint_->url(), body, s);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], -32700) << r.body;
  auto ok = http(
      "POST", endpoint_->url(),
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}})",
      s);
  EXPECT_EQ(json::parse(ok.body)["result"]["structuredContent"]["sum"], 3) << ok.body;
}

// A guest line nested too deep is dropped (and counted), never crashing the endpoint; the guest's
// next, sane answer still reaches the client.
TEST_F(HostileGuestTest, NestingBombFromGuestIsDroppedAndEndpointKeepsServing) {
  start([](const json& request) {
    json id = request["id"];
    std::string bomb =
        R"({"jsonrpc":"2.0","id":)" + id.dump() + R"(,"result":)" + nesting_bomb(1 << 20) + "}\n";
    return bomb + ScriptedGuest::answer(id, {{"content", json::array()}, {"isError", false}});
  });
  std::string s = initialize();
  auto r = call(s, "anything");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["result"].contains("content")) << r.body.substr(0, 300);
  EXPECT_TRUE(eventually([&] { return endpoint_->status().hub.junk_lines == 1; }));
}

// A hostile HTTP MCP server on 127.0.0.1, played by the test: initialize and notifications get normal
// answers; a tools/call named "flood" is answered with an SSE stream of `data:` lines that never end
// their event (see flood()), any other call with a plain JSON result. A GET (the standalone stream, or
// legacy SSE's /sse) gets 405, or with flood_get the legacy endpoint event and then a flood.
class FloodingHttpGuest {
 public:
  explicit FloodingHttpGuest(bool flood_get = false)
      : flood_get_(flood_get), server_([this](UniqueFd fd) { serve(std::move(fd)); }) {}
  uint16_t port() const { return server_.port(); }

 private:
  // One request per connection (Connection: close).
  void serve(UniqueFd c) {
    std::string in;
    char buf[65536];
    size_t body_at = std::string::npos, length = 0;
    while (!server_.stopping() && (body_at == std::string::npos || in.size() < body_at + length)) {
      pollfd p{c.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::read(c.get(), buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      if (body_at == std::string::npos && (body_at = in.find("\r\n\r\n")) != std::string::npos) {
        body_at += 4;
        auto cl = in.find("Content-Length: ");
        length = cl < body_at ? std::stoul(in.substr(cl + 16)) : 0;
      }
    }
    if (in.rfind("GET ", 0) == 0 && flood_get_) return flood(c, "event: endpoint\ndata: /messages\n\n");
    if (in.rfind("GET ", 0) == 0) {
      send(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    json m = json::parse(in.substr(body_at), nullptr, false);
    if (!m.is_object() || !m.contains("id")) {
      send(c, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    json result = {{"content", json::array()}};
    if (m["method"] == "initialize")
      result = {{"protocolVersion", "2025-06-18"},
                {"capabilities", json::object()},
                {"serverInfo", {{"name", "f"}}}};
    if (m["method"] == "tools/call" && m["params"]["name"] == "flood") return flood(c, "");
    std::string body = json{{"jsonrpc", "2.0"}, {"id", m["id"]}, {"result", result}}.dump();
    send(c, fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: up-1\r\n"
                        "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                        body.size(), body));
  }
  // An SSE response whose one event grows by 64 MiB of data lines, then silence with the connection
  // open: the event never ends.
  void flood(const UniqueFd& c, const std::string& first_events) {
    send(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + first_events);
    std::string lines;
    for (int i = 0; i < 1024; ++i) lines += "data: " + std::string(1018, 'x') + "\n";  // 1 MiB
    for (int mib = 0; mib < 64 && !server_.stopping() && send(c, lines); ++mib) {
    }
    while (!server_.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  static bool send(const UniqueFd& c, const std::string& text) {
    for (size_t done = 0; done < text.size();) {
      ssize_t n = ::send(c.get(), text.data() + done, text.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  bool flood_get_;
  mcpvm::test::LoopbackServer server_;  // last: its threads use the members above until it is destroyed
};

// An HTTP guest that answers a POST with one never-ending SSE event (64 MiB of data lines, then
// silence) loses only that request: -32000 naming the message limit (before the fix the response's
// body limit, 4 messages, cut it with "body limit exceeded"); the endpoint and the next request carry on.
TEST(HttpGuestBudget, EndlessSseEventFailsOnlyItsRequest) {
  FloodingHttpGuest guest;
  Endpoint endpoint(EndpointConfig{.upstream = HttpUpstream{.port = guest.port()},
                                   .request_timeout = std::chrono::seconds(5),
                                   .max_message_bytes = 1u << 20});
  std::thread loop([&] { endpoint.run(); });
  auto init =
      http("POST", endpoint.url(),
           R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
           R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  EXPECT_EQ(init.status, 200) << init.body;
  auto flood =
      http("POST", endpoint.url(),
           R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"flood"}})", init.session);
  json answer = json::parse(flood.body, nullptr, false);
  EXPECT_EQ(answer["error"]["code"], -32000) << flood.body.substr(0, 300);
  EXPECT_NE(flood.body.find("message limit"), std::string::npos) << flood.body.substr(0, 300);
  auto ok = http("POST", endpoint.url(),
                 R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"calm"}})", init.session);
  EXPECT_TRUE(json::parse(ok.body, nullptr, false)["result"].contains("content")) << ok.body.substr(0, 300);
  endpoint.stop();
  loop.join();
}

// A legacy-SSE guest whose /sse stream carries one never-ending event: the stream is cut at the message
// limit and the upstream reported gone (/health 503 naming the limit); the endpoint keeps answering.
// Before the fix the event's data piled up without bound and the upstream looked alive.
TEST(HttpGuestBudget, EndlessEventOnLegacySseStreamEndsOnlyThatUpstream) {
  FloodingHttpGuest guest(/*flood_get=*/true);
  Endpoint endpoint(EndpointConfig{
      .upstream = HttpUpstream{.port = guest.port(), .transport = HttpUpstream::Transport::sse},
      .max_message_bytes = 1u << 20});
  std::thread loop([&] { endpoint.run(); });
  EXPECT_TRUE(eventually([&] { return !endpoint.status().hub.upstream_alive; }));
  EXPECT_NE(endpoint.status().hub.upstream_error.find("message limit"), std::string::npos)
      << endpoint.status().hub.upstream_error;
  auto init =
      http("POST", endpoint.url(),
           R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
           R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  EXPECT_EQ(json::parse(init.body, nullptr, false)["error"]["code"], -32000) << init.body;
  endpoint.stop();
  loop.join();
}

// ---- one endpoint for a runner's whole life: servers attached and detached behind one listener -------

// errno of binding a fresh TCP socket to 127.0.0.1:port the way a squatter would try hardest (SO_REUSEADDR
// and SO_REUSEPORT); 0 if the bind succeeded.
int squat_errno(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
}

// The demo server on a pair of pipes, as one boot's stdio channel.
struct DemoServer {
  DemoServer() {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) std::abort();
    UniqueFd in_r(in[0]), out_w(out[1]);
    to_server = UniqueFd(in[1]);
    from_server = UniqueFd(out[0]);
    SpawnOptions o;
    o.fds = {{in_r.get(), 0}, {out_w.get(), 1}};
    process = Subprocess::spawn({demo_server()}, o);
  }
  StdioUpstream upstream() const { return {from_server.get(), to_server.get()}; }
  UniqueFd to_server, from_server;
  Subprocess process;
};

size_t open_fds() {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n += e.path().filename() != ".";
  return n;
}

const std::string kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
    R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";
const std::string kAdd =
    R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":20,"b":22}}})";

class LongLivedEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = std::make_unique<Endpoint>(
        EndpointConfig{.request_timeout = std::chrono::seconds(20), .bearer_token = token_});
    thread_ = std::thread([this] { endpoint_->run(); });
    base_ = endpoint_->url().substr(0, endpoint_->url().size() - 4);
  }
  void TearDown() override {
    endpoint_->stop();
    thread_.join();
  }
  std::vector<std::string> auth() const { return {"Authorization: Bearer " + token_}; }
  HttpResult initialize() { return http("POST", endpoint_->url(), kInitialize, "", auth()); }
  HttpResult add(const std::string& session) { return http("POST", endpoint_->url(), kAdd, session, auth()); }
  // Every route, with the token: 503, a JSON-RPC error and Retry-After.
  void expect_unavailable_everywhere(const std::string& session) {
    for (std::string path : {"/mcp", "/sse", "/health", "/messages?session_id=x", "/nope"}) {
      for (std::string method : {"GET", "POST", "DELETE"}) {
        auto r = http(method, base_ + path, method == "POST" ? kAdd : "", session, auth());
        EXPECT_EQ(r.status, 503) << method << " " << path << ": " << r.body;
        EXPECT_NE(r.headers.find("Retry-After: 2"), std::string::npos) << r.headers;
        json body = json::parse(r.body, nullptr, false);
        EXPECT_EQ(body["error"]["code"], -32000) << r.body;
        EXPECT_NE(body["error"]["message"].get<std::string>().find("unavailable"), std::string::npos);
      }
    }
  }

  std::string token_ = new_bearer_token();
  std::unique_ptr<Endpoint> endpoint_;
  std::thread thread_;
  std::string base_;
};

// Before any server, and between two: the port stays bound (a squatter's bind fails), every route answers
// 401 to a missing or wrong token first, then 503 with Retry-After.
TEST_F(LongLivedEndpointTest, WithoutServer401ComesFirstThen503AndThePortStaysBound) {
  EXPECT_EQ(squat_errno(endpoint_->port()), EADDRINUSE);
  for (const std::vector<std::string>& wrong :
       {std::vector<std::string>{},
        std::vector<std::string>{"Authorization: Bearer " + std::string(64, '0')}}) {
    for (std::string path : {"/mcp", "/sse", "/health", "/nope"}) {
      auto r = http(path == "/mcp" ? "POST" : "GET", base_ + path, kInitialize, "", wrong);
      EXPECT_EQ(r.status, 401) << path;
      EXPECT_EQ(r.headers.find("Retry-After"), std::string::npos) << "nothing about the VM before the token";
    }
  }
  auto evil_host = http("POST", endpoint_->url(), kInitialize, "", {"Host: evil.example", auth()[0]});
  EXPECT_EQ(evil_host.status, 403) << "the Host check stays first";
  expect_unavailable_everywhere("");
  EXPECT_FALSE(endpoint_->status().attached);
}

// A runner's reboot: sessions of the previous server get 404 (the client initializes again, as the spec
// says for an expired session) and the new server answers; the listener never closed in between.
TEST_F(LongLivedEndpointTest, ClientReinitializesAfterTheServerIsReplaced) {
  const uint16_t port = endpoint_->port();
  auto first = std::make_unique<DemoServer>();
  endpoint_->attach_upstream(first->upstream());
  auto init = initialize();
  ASSERT_EQ(init.status, 200) << init.body;
  const std::string old_session = init.session;
  auto sum = add(old_session);
  ASSERT_EQ(sum.status, 200) << sum.body;
  EXPECT_EQ(json::parse(sum.body)["result"]["structuredContent"]["sum"], 42);

  // A call in flight when the boot ends fails at once (not after the request timeout).
  HttpResult in_flight;
  std::thread slow([&] {
    in_flight = http(
        "POST", endpoint_->url(),
        R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":15000}}})",
        old_session, auth());
  });
  ASSERT_TRUE(eventually([&] { return endpoint_->status().hub.pending_requests == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  endpoint_->detach_upstream("the VM is restarting");
  slow.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(json::parse(in_flight.body)["error"]["code"], -32000) << in_flight.body;
  EXPECT_NE(in_flight.body.find("the VM is restarting"), std::string::npos) << in_flight.body;
  first.reset();  // the old server is gone (the VM powered off)

  EXPECT_EQ(squat_errno(port), EADDRINUSE) << "between boots the port is still ours";
  expect_unavailable_everywhere(old_session);

  DemoServer second;
  endpoint_->attach_upstream(second.upstream());
  EXPECT_EQ(endpoint_->port(), port);
  auto stale = add(old_session);
  EXPECT_EQ(stale.status, 404) << stale.body;
  EXPECT_EQ(json::parse(stale.body)["error"]["code"], -32002) << stale.body;
  auto again = initialize();
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.session, old_session);
  auto sum2 = add(again.session);
  ASSERT_EQ(sum2.status, 200) << sum2.body;
  EXPECT_EQ(json::parse(sum2.body)["result"]["structuredContent"]["sum"], 42);

  // attach without a detach replaces the server the same way.
  DemoServer third;
  endpoint_->attach_upstream(third.upstream());
  EXPECT_EQ(add(again.session).status, 404);
  auto third_init = initialize();
  ASSERT_EQ(third_init.status, 200) << third_init.body;
  EXPECT_EQ(json::parse(add(third_init.session).body)["result"]["structuredContent"]["sum"], 42);
  EXPECT_EQ(endpoint_->status().hub.sessions, 1u);
}

// Replaced links are destroyed once their operations ended: a runner restarting its VM all day does not
// accumulate descriptors.
TEST_F(LongLivedEndpointTest, ReplacedLinksAreReleased) {
  auto cycle = [&] {
    int in[2], out[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    UniqueFd a(in[0]), b(in[1]), c(out[0]), d(out[1]);
    endpoint_->attach_upstream(StdioUpstream{c.get(), b.get()});
    endpoint_->detach_upstream("cycle");
  };
  cycle();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const size_t baseline = open_fds();
  for (int i = 0; i < 40; ++i) cycle();
  EXPECT_TRUE(eventually([&] { return open_fds() <= baseline; }))
      << open_fds() << " fds open, " << baseline << " before";
}

}  // namespace
}  // namespace mcpvm::mcp
