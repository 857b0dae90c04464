// mcp::Endpoint embedded the way the runner will use it: a stdio server on a pair of fds, the endpoint
// on its own thread, status() read from another thread. Real processes (mcpvm-demo-server), real HTTP
// (libcurl) on 127.0.0.1.
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <strings.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "mcp/endpoint.h"
#include "util/fd.h"
#include "util/process.h"

namespace mcpvm::mcp {
namespace {

struct HttpResult {
  long status = 0;
  std::string body;
  std::string session;
};

size_t collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t header_line(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  const std::string name = "mcp-session-id:";
  if (line.size() > name.size() && strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
    std::string v = line.substr(name.size());
    v.erase(0, v.find_first_not_of(' '));
    v.erase(v.find_last_not_of("\r\n") + 1);
    *static_cast<std::string*>(out) = v;
  }
  return size * n;
}

HttpResult http(const std::string& method, const std::string& url, const std::string& body,
                const std::string& session = "") {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Accept: application/json, text/event-stream");
  if (!session.empty()) h = curl_slist_append(h, ("Mcp-Session-Id: " + session).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.session);
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

std::string demo_server() {
  const char* dir = std::getenv("MCPVM_BIN_DIR");
  return std::string(dir ? dir : "build/bin") + "/mcpvm-demo-server";
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
                                                          .keepalive_interval = keepalive_});
    thread_ = std::thread([this] { endpoint_->run(); });
  }
  void TearDown() override {
    endpoint_->stop();
    thread_.join();
  }

  std::string initialize() {
    auto r = http("POST", endpoint_->url(),
                  R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
                  R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.session.size(), 32u);
    return r.session;
  }

  std::chrono::milliseconds keepalive_{std::chrono::seconds(15)};
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

}  // namespace
}  // namespace mcpvm::mcp
