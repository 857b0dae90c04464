// The hub's routing rules, driven directly (no sockets): what reaches the upstream server and which
// client gets which answer.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "mcp/hub.h"

namespace mcpvm::mcp {
namespace {

struct RecordingSink : ClientSink {
  std::vector<std::pair<std::string, json>> events;
  bool finished = false;
  void deliver(const std::string& id, const std::string& text) override {
    events.emplace_back(id, json::parse(text));
  }
  void finish() override { finished = true; }
};

json request(json id, std::string method, json params = json::object()) {
  return {{"jsonrpc", "2.0"},
          {"id", std::move(id)},
          {"method", std::move(method)},
          {"params", std::move(params)}};
}

class HubTest : public ::testing::Test {
 protected:
  std::vector<json> upstream;
  Hub hub{HubOptions{.request_timeout = std::chrono::milliseconds(1000)},
          [this](const json& m) { upstream.push_back(m); }};

  // A session that completed initialize; returns its id.
  std::string initialized_session(const std::string& version = "2025-06-18") {
    std::string s = *hub.create_session(SessionKind::streamable_http);
    auto sink = std::make_shared<RecordingSink>();
    auto stream = hub.open_post_stream(s, sink, true, 1);
    hub.from_client(s, stream, request(0, "initialize", {{"protocolVersion", version}}));
    if (!upstream.empty() && upstream.back().value("method", "") == "initialize") {
      hub.from_upstream({{"jsonrpc", "2.0"},
                         {"id", upstream.back()["id"]},
                         {"result", {{"protocolVersion", version}, {"serverInfo", {{"name", "srv"}}}}}});
    }
    EXPECT_TRUE(sink->finished);
    return s;
  }

  std::shared_ptr<RecordingSink> post(const std::string& s, json message, bool json_mode = true) {
    auto sink = std::make_shared<RecordingSink>();
    auto stream = hub.open_post_stream(s, sink, json_mode, 1);
    hub.from_client(s, stream, std::move(message));
    return sink;
  }

  void answer(const json& upstream_request, json result) {
    hub.from_upstream({{"jsonrpc", "2.0"}, {"id", upstream_request["id"]}, {"result", std::move(result)}});
  }
};

TEST_F(HubTest, OneRealInitializeLaterOnesFromCache) {
  std::string a = initialized_session();
  ASSERT_EQ(upstream.size(), 2u);  // initialize + the hub's own notifications/initialized
  EXPECT_EQ(upstream[1]["method"], "notifications/initialized");
  std::string b = initialized_session("2025-03-26");
  EXPECT_EQ(upstream.size(), 2u) << "the second initialize must not reach the server";
  EXPECT_EQ(hub.session_protocol_version(b), "2025-03-26");
  EXPECT_EQ(hub.session_protocol_version(a), "2025-06-18");
  hub.from_client(b, 0, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  EXPECT_EQ(upstream.size(), 2u) << "clients' initialized notifications are swallowed";
}

// The runner's next boot of the VM (one endpoint for the runner's life): what was open with the old
// server ends with an error, old sessions are unknown (404 for the client), and the next initialize
// reaches the new server instead of the old cached answer.
TEST_F(HubTest, EndGenerationEndsSessionsAndForgetsTheCachedInitialize) {
  std::string a = initialized_session();
  auto standalone = std::make_shared<RecordingSink>();
  hub.attach_standalone(a, standalone);
  auto open_call = post(a, request(7, "tools/call", {{"name", "slow"}}), false);
  ASSERT_EQ(upstream.size(), 3u);  // initialize, initialized, the call
  hub.end_generation("the VM is restarting");
  ASSERT_EQ(open_call->events.size(), 1u);
  EXPECT_EQ(open_call->events[0].second["id"], 7);
  EXPECT_EQ(open_call->events[0].second["error"]["code"], rpc::kServerUnavailable);
  EXPECT_TRUE(open_call->finished);
  EXPECT_TRUE(standalone->finished) << "open streams of the old session end";
  EXPECT_FALSE(hub.has_session(a));
  EXPECT_EQ(upstream.size(), 3u) << "nothing is sent to the server that is gone";
  HubStatus down = hub.status();
  EXPECT_FALSE(down.upstream_alive);
  EXPECT_EQ(down.upstream_error, "the VM is restarting");
  EXPECT_FALSE(down.initialized);
  EXPECT_EQ(down.sessions, 0u);
  EXPECT_EQ(down.pending_requests, 0u);

  hub.upstream_attached();
  EXPECT_TRUE(hub.status().upstream_alive);
  // The server answers late for the old call: its id is unknown now and goes nowhere.
  answer(upstream[2], {{"late", true}});
  EXPECT_EQ(open_call->events.size(), 1u);
  upstream.clear();
  std::string b = initialized_session("2025-03-26");
  ASSERT_EQ(upstream.size(), 2u) << "the new server gets its own initialize";
  EXPECT_EQ(upstream[0]["method"], "initialize");
  auto call = post(b, request(8, "tools/call", {{"name", "add"}}));
  ASSERT_EQ(upstream.size(), 3u);
  answer(upstream[2], {{"sum", 3}});
  ASSERT_EQ(call->events.size(), 1u);
  EXPECT_EQ(call->events[0].second["result"]["sum"], 3);
  EXPECT_TRUE(hub.status().initialized);
}

// A server that had already crashed (its requests failed then) ends its generation the same way.
TEST_F(HubTest, EndGenerationAfterTheServerCrashed) {
  std::string a = initialized_session();
  hub.upstream_failed("the MCP server closed its stdout");
  hub.end_generation("the VM is restarting");
  EXPECT_FALSE(hub.has_session(a));
  EXPECT_EQ(hub.status().upstream_error, "the VM is restarting");
  hub.upstream_attached();
  upstream.clear();
  initialized_session();
  EXPECT_EQ(upstream.size(), 2u);
}

TEST_F(HubTest, SameClientIdsInTwoSessionsAreRewrittenAndRoutedBack) {
  std::string a = initialized_session(), b = initialized_session();
  upstream.clear();
  auto sa = post(a, request(1, "tools/call", {{"name", "echo"}}));
  auto sb = post(b, request(1, "tools/call", {{"name", "echo"}}));
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_NE(upstream[0]["id"], upstream[1]["id"]);
  answer(upstream[1], {{"who", "b"}});  // out of order on purpose
  answer(upstream[0], {{"who", "a"}});
  ASSERT_EQ(sa->events.size(), 1u);
  ASSERT_EQ(sb->events.size(), 1u);
  EXPECT_EQ(sa->events[0].second["id"], 1);
  EXPECT_EQ(sa->events[0].second["result"]["who"], "a");
  EXPECT_EQ(sb->events[0].second["result"]["who"], "b");
  EXPECT_TRUE(sa->finished && sb->finished);
  // A duplicate or unknown answer from the server goes nowhere.
  answer(upstream[0], {{"who", "again"}});
  EXPECT_EQ(sa->events.size(), 1u);
}

TEST_F(HubTest, ProgressTokensAreRewrittenAndRouted) {
  std::string a = initialized_session(), b = initialized_session();
  upstream.clear();
  json params = {{"name", "long"}, {"_meta", {{"progressToken", 0}}}};
  auto sa = post(a, request(5, "tools/call", params), false);
  auto sb = post(b, request(5, "tools/call", params), false);
  json ta = upstream[0]["params"]["_meta"]["progressToken"],
       tb = upstream[1]["params"]["_meta"]["progressToken"];
  EXPECT_NE(ta, tb);
  hub.from_upstream({{"jsonrpc", "2.0"},
                     {"method", "notifications/progress"},
                     {"params", {{"progressToken", tb}, {"progress", 1}}}});
  ASSERT_EQ(sb->events.size(), 1u);
  EXPECT_TRUE(sa->events.empty());
  EXPECT_EQ(sb->events[0].second["params"]["progressToken"], 0);
  EXPECT_FALSE(sb->events[0].first.empty()) << "SSE events carry ids";
}

TEST_F(HubTest, ServerRequestGoesToTheSessionWithTheOpenCall) {
  std::string a = initialized_session(), b = initialized_session();
  auto standalone_a = std::make_shared<RecordingSink>();
  hub.attach_standalone(a, standalone_a);
  upstream.clear();
  auto sb = post(b, request("call", "tools/call", {{"name", "sample"}}), false);
  hub.from_upstream(request(99, "sampling/createMessage"));
  ASSERT_EQ(sb->events.size(), 1u);
  EXPECT_EQ(sb->events[0].second["method"], "sampling/createMessage");
  EXPECT_TRUE(standalone_a->events.empty());
  // Only the session that was asked may answer; the answer reaches the server unchanged.
  hub.from_client(a, 0, {{"jsonrpc", "2.0"}, {"id", 99}, {"result", {}}});
  EXPECT_EQ(upstream.size(), 1u);
  hub.from_client(b, 0, {{"jsonrpc", "2.0"}, {"id", 99}, {"result", {{"ok", true}}}});
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_EQ(upstream[1]["id"], 99);
}

TEST_F(HubTest, BroadcastsListChangedToEverySession) {
  std::string a = initialized_session(), b = initialized_session();
  auto sa = std::make_shared<RecordingSink>(), sb = std::make_shared<RecordingSink>();
  hub.attach_standalone(a, sa);
  hub.from_upstream({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
  hub.attach_standalone(b, sb);  // b was not listening yet: it gets the queued event on attach
  ASSERT_EQ(sa->events.size(), 1u);
  ASSERT_EQ(sb->events.size(), 1u);
}

TEST_F(HubTest, TimeoutAnswersWithErrorAndCancelsUpstream) {
  std::string a = initialized_session();
  upstream.clear();
  auto sa = post(a, request(3, "tools/call"));
  hub.tick(Hub::Clock::now() + std::chrono::seconds(2));
  ASSERT_EQ(sa->events.size(), 1u);
  EXPECT_EQ(sa->events[0].second["error"]["code"], rpc::kRequestTimeout);
  EXPECT_EQ(sa->events[0].second["id"], 3);
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_EQ(upstream[1]["method"], "notifications/cancelled");
  EXPECT_EQ(upstream[1]["params"]["requestId"], upstream[0]["id"]);
  EXPECT_EQ(hub.status().requests_timed_out, 1u);
}

TEST_F(HubTest, UpstreamFailureEndsOpenRequestsAndRefusesNewOnes) {
  std::string a = initialized_session();
  auto open = post(a, request(4, "tools/call"));
  hub.upstream_failed("the MCP server exited");
  ASSERT_EQ(open->events.size(), 1u);
  EXPECT_EQ(open->events[0].second["error"]["code"], rpc::kServerUnavailable);
  auto later = post(a, request(5, "tools/list"));
  ASSERT_EQ(later->events.size(), 1u);
  EXPECT_EQ(later->events[0].second["error"]["code"], rpc::kServerUnavailable);
  EXPECT_FALSE(hub.status().upstream_alive);
}

TEST_F(HubTest, ClientCancellationIsRewritten) {
  std::string a = initialized_session();
  upstream.clear();
  auto sa = post(a, request("r1", "tools/call"));
  hub.from_client(
      a, 0, {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", "r1"}}}});
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_EQ(upstream[1]["params"]["requestId"], upstream[0]["id"]);
  EXPECT_TRUE(sa->finished);
  EXPECT_EQ(hub.status().pending_requests, 0u);
}

TEST_F(HubTest, ResumeReplaysEventsAfterLastEventId) {
  std::string a = initialized_session();
  upstream.clear();
  auto sa = post(a, request(1, "tools/call", {{"_meta", {{"progressToken", "t"}}}}), false);
  json token = upstream[0]["params"]["_meta"]["progressToken"];
  for (int i = 1; i <= 3; ++i)
    hub.from_upstream({{"jsonrpc", "2.0"},
                       {"method", "notifications/progress"},
                       {"params", {{"progressToken", token}, {"progress", i}}}});
  ASSERT_EQ(sa->events.size(), 3u);
  hub.detach(a, sa.get());  // the connection dropped after the first event was seen
  answer(upstream[0], {{"done", true}});
  auto again = std::make_shared<RecordingSink>();
  ASSERT_TRUE(hub.resume(a, sa->events[0].first, again));
  ASSERT_EQ(again->events.size(), 3u);  // progress 2, 3 and the response
  EXPECT_EQ(again->events[0].second["params"]["progress"], 2);
  EXPECT_EQ(again->events[2].second["result"]["done"], true);
  EXPECT_TRUE(again->finished);
  EXPECT_FALSE(hub.resume(a, "999-1", std::make_shared<RecordingSink>()));
  EXPECT_FALSE(hub.resume(a, "garbage", std::make_shared<RecordingSink>()));
}

// ---- budgets against a hostile server (issue 19) ----

// A server that keeps asking one client things it never answers is refused beyond the budget; the
// client's session and every other session keep working.
TEST_F(HubTest, OpenServerRequestsPerSessionAreBounded) {
  std::string a = initialized_session(), b = initialized_session();
  auto standalone_a = std::make_shared<RecordingSink>();
  hub.attach_standalone(a, standalone_a);
  hub.from_client(a, 0, request("keep", "ping"));  // a becomes the most recently active session
  upstream.clear();
  for (int i = 0; i < 1000; ++i) hub.from_upstream(request(fmt::format("s{}", i), "roots/list"));
  size_t refused = 0;
  for (const json& m : upstream) refused += m.contains("error") && m["error"]["code"] == rpc::kInternalError;
  EXPECT_EQ(standalone_a->events.size() + refused, 1000u);
  EXPECT_LE(standalone_a->events.size(), 64u) << "forwarded beyond the budget";
  // The client answers one: that frees a slot for the next server request.
  hub.from_client(a, 0, {{"jsonrpc", "2.0"}, {"id", "s0"}, {"result", json::object()}});
  upstream.clear();
  hub.from_upstream(request("later", "roots/list"));
  EXPECT_TRUE(upstream.empty()) << upstream.front();
  // Another session is unaffected.
  auto sb = post(b, request(9, "tools/list"));
  ASSERT_FALSE(upstream.empty());
  answer(upstream.back(), {{"tools", json::array()}});
  ASSERT_EQ(sb->events.size(), 1u);
  EXPECT_EQ(sb->events[0].second["id"], 9);
}

// Progress floods fill a stream's resumption history; its bytes are bounded (not just its count).
TEST_F(HubTest, StreamHistoryIsBoundedInBytes) {
  std::string a = initialized_session();
  upstream.clear();
  auto sa = post(a, request(1, "tools/call", {{"_meta", {{"progressToken", "t"}}}}), false);
  json token = upstream[0]["params"]["_meta"]["progressToken"];
  const std::string mib(1 << 20, 'x');
  for (int i = 1; i <= 100; ++i)
    hub.from_upstream({{"jsonrpc", "2.0"},
                       {"method", "notifications/progress"},
                       {"params", {{"progressToken", token}, {"progress", i}, {"message", mib}}}});
  ASSERT_EQ(sa->events.size(), 100u) << "a connected client still gets everything";
  hub.detach(a, sa.get());
  auto again = std::make_shared<RecordingSink>();
  ASSERT_TRUE(hub.resume(a, sa->events[0].first, again));
  // The 32 MiB budget (HubOptions::stream_history_bytes) keeps the newest ~31 events of 1 MiB.
  EXPECT_LE(again->events.size(), 33u);
  ASSERT_FALSE(again->events.empty());
  EXPECT_EQ(again->events.back().second["params"]["progress"], 100) << "the newest events are kept";
}

TEST_F(HubTest, ClosingASessionCancelsItsRequests) {
  std::string a = initialized_session();
  upstream.clear();
  post(a, request(1, "tools/call"));
  hub.close_session(a);
  EXPECT_FALSE(hub.has_session(a));
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_EQ(upstream[1]["method"], "notifications/cancelled");
  EXPECT_EQ(hub.status().pending_requests, 0u);
}

}  // namespace
}  // namespace mcpvm::mcp

namespace mcpvm::mcp {
namespace {

// run --tools / --tools-override (issue 16) and the audit log, through the hub.
class HubPolicyTest : public HubTest {
 protected:
  std::vector<AuditRecord> audit;
  Hub policed{HubOptions{.request_timeout = std::chrono::milliseconds(1000),
                         .tools = ToolPolicy(std::set<std::string>{"echo", "fetch_url"},
                                             {{"fetch", {"fetch_url", "Fetch a URL"}}}),
                         .audit = [this](const AuditRecord& r) { audit.push_back(r); },
                         .audit_arguments = true},
              [this](const json& m) { upstream.push_back(m); }};

  std::string session() {
    std::string s = *policed.create_session(SessionKind::streamable_http);
    auto sink = std::make_shared<RecordingSink>();
    policed.from_client(s, policed.open_post_stream(s, sink, true, 1),
                        request(0, "initialize",
                                {{"protocolVersion", "2025-06-18"},
                                 {"clientInfo", {{"name", "audited-client"}, {"version", "1"}}}}));
    policed.from_upstream(
        {{"jsonrpc", "2.0"}, {"id", upstream.back()["id"]}, {"result", {{"protocolVersion", "2025-06-18"}}}});
    upstream.clear();
    return s;
  }
  void reply(const json& upstream_request, json result) {
    policed.from_upstream(
        {{"jsonrpc", "2.0"}, {"id", upstream_request["id"]}, {"result", std::move(result)}});
  }
  std::shared_ptr<RecordingSink> send(const std::string& s, json message) {
    auto sink = std::make_shared<RecordingSink>();
    policed.from_client(s, policed.open_post_stream(s, sink, true, 1), std::move(message));
    return sink;
  }
};

TEST_F(HubPolicyTest, ToolsOutsideThePolicyNeverReachTheServer) {
  std::string s = session();
  auto refused =
      send(s, request(7, "tools/call", {{"name", "delete_everything"}, {"arguments", json::object()}}));
  EXPECT_TRUE(upstream.empty()) << upstream.back().dump();
  ASSERT_EQ(refused->events.size(), 1u);
  EXPECT_EQ(refused->events[0].second["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(refused->events[0].second["error"]["message"], "Unknown tool: delete_everything");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].outcome, "refused");
  EXPECT_EQ(audit[0].subject, "delete_everything");

  auto renamed = send(s, request(8, "tools/call", {{"name", "fetch_url"}, {"arguments", {{"url", "x"}}}}));
  ASSERT_EQ(upstream.size(), 1u);
  EXPECT_EQ(upstream[0]["params"]["name"], "fetch");
  reply(upstream[0], {{"content", json::array()}, {"isError", true}});
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].outcome, "tool_error");
  EXPECT_EQ(audit[1].subject, "fetch_url");  // what the client asked for
  EXPECT_EQ(audit[1].client, "audited-client");
  EXPECT_EQ(audit[1].session, s);
  ASSERT_TRUE(audit[1].arguments.has_value());
  EXPECT_EQ((*audit[1].arguments)["url"], "x");
  json line = to_json(audit[1]);
  EXPECT_EQ(line["method"], "tools/call");
  EXPECT_TRUE(line["time"].get<std::string>().ends_with("Z"));
}

TEST_F(HubPolicyTest, ListResultsAreFilteredAndRewritten) {
  std::string s = session();
  auto list = send(s, request(9, "tools/list"));
  ASSERT_EQ(upstream.size(), 1u);
  json tools_from_server = json::array(
      {json{{"name", "echo"}}, json{{"name", "fetch"}, {"description", "old"}}, json{{"name", "rm"}}});
  reply(upstream[0], {{"tools", tools_from_server}});
  ASSERT_EQ(list->events.size(), 1u);
  json tools = list->events[0].second["result"]["tools"];
  ASSERT_EQ(tools.size(), 2u) << tools.dump();
  EXPECT_EQ(tools[0]["name"], "echo");
  EXPECT_EQ(tools[1]["name"], "fetch_url");
  EXPECT_EQ(tools[1]["description"], "Fetch a URL");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].outcome, "ok");
  EXPECT_FALSE(audit[0].arguments.has_value());
}

TEST_F(HubPolicyTest, TimeoutsAndCancellationsAreAudited) {
  std::string s = session();
  send(s, request(10, "resources/read", {{"uri", "file:///x"}}));
  policed.tick(Hub::Clock::now() + std::chrono::seconds(5));
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].outcome, "timeout");
  EXPECT_EQ(audit[0].subject, "file:///x");
  EXPECT_EQ(audit[0].error_code, rpc::kRequestTimeout);
  send(s, request(11, "tools/call", {{"name", "echo"}}));
  policed.close_session(s);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].outcome, "cancelled");
}

}  // namespace
}  // namespace mcpvm::mcp
