#include <gtest/gtest.h>

#include "mcp/endpoint_url.h"
#include "mcp/jsonrpc.h"
#include "mcp/protocol.h"

namespace mcpvm::mcp {
namespace {

TEST(McpJsonRpc, ClassifiesMessages) {
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"ping"})")), MessageKind::request);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":"a","method":"ping"})")), MessageKind::request);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","method":"n"})")), MessageKind::notification);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"result":{}})")), MessageKind::response);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":1}})")),
            MessageKind::response);
  // invalid: wrong version, float id, null id on a request, both result and error, params not structured
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"1.0","id":1,"method":"ping"})")), MessageKind::invalid);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})")), MessageKind::invalid);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":null,"method":"ping"})")), MessageKind::invalid);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"result":1,"error":{}})")), MessageKind::invalid);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","method":"x","params":3})")), MessageKind::invalid);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","method":5})")), MessageKind::invalid);
  EXPECT_EQ(classify(json::parse("[]")), MessageKind::invalid);
}

TEST(McpJsonRpc, ParseBodyRejectsBadInput) {
  auto bad = parse_body("{nope");
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error["error"]["code"], rpc::kParseError);
  EXPECT_TRUE(bad.error["id"].is_null());
  EXPECT_EQ(parse_body("[]").error["error"]["code"], rpc::kInvalidRequest);
  EXPECT_EQ(parse_body("42").error["error"]["code"], rpc::kInvalidRequest);
  EXPECT_EQ(parse_body(R"([{"jsonrpc":"2.0","method":"a"}, 1])").error["error"]["code"],
            rpc::kInvalidRequest);
  EXPECT_FALSE(parse_body(std::string("{\"a\":\"\xff\"}")).ok);  // invalid UTF-8
}

TEST(McpJsonRpc, ParseBodyAcceptsSingleAndBatch) {
  auto one = parse_body(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  ASSERT_TRUE(one.ok);
  EXPECT_FALSE(one.batch);
  EXPECT_EQ(one.messages.size(), 1u);
  auto batch = parse_body(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"}])");
  ASSERT_TRUE(batch.ok);
  EXPECT_TRUE(batch.batch);
  EXPECT_EQ(batch.messages.size(), 2u);
}

// A ~2 MB nesting bomb must be refused before anything recursive (dump, copy, compare) walks it.
TEST(McpJsonRpc, ParseBodyRefusesNestingBombs) {
  const std::string bomb = std::string(1 << 20, '[') + std::string(1 << 20, ']');
  auto r = parse_body(bomb);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error["error"]["code"], rpc::kParseError);
  EXPECT_NE(r.error["error"]["message"].get<std::string>().find("128"), std::string::npos) << r.error;

  // Deep params in an otherwise valid request: refused too, not forwarded.
  const std::string deep_params = R"({"jsonrpc":"2.0","id":1,"method":"x","params":)" +
                                  std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(parse_body(deep_params).error["error"]["code"], rpc::kParseError);
}

TEST(McpJsonRpc, NestingLimitIsExact) {
  auto nested = [](size_t levels) {  // {"a":{"a":...[]...}} with `levels` containers
    std::string s;
    for (size_t i = 1; i < levels; ++i) s += R"({"a":)";
    s += "[]";
    for (size_t i = 1; i < levels; ++i) s += "}";
    return s;
  };
  EXPECT_FALSE(parse_untrusted_json(nested(kMaxJsonDepth)).is_discarded());
  bool too_deep = false;
  EXPECT_TRUE(parse_untrusted_json(nested(kMaxJsonDepth + 1), &too_deep).is_discarded());
  EXPECT_TRUE(too_deep);
  // Brackets inside strings (escaped quotes included) are text, not nesting.
  const std::string in_string = R"({"s":"\")" + std::string(1000, '[') + R"(\\"})";
  EXPECT_FALSE(parse_untrusted_json(in_string, &too_deep).is_discarded()) << in_string;
  EXPECT_FALSE(too_deep);
  EXPECT_TRUE(parse_untrusted_json("{nope", &too_deep).is_discarded());
  EXPECT_FALSE(too_deep);
}

TEST(McpProtocol, VersionHeader) {
  EXPECT_FALSE(check_protocol_version_header(std::nullopt));
  EXPECT_FALSE(check_protocol_version_header("2025-06-18"));
  // Another supported revision than the session's: served (only invalid/unsupported ones get 400).
  EXPECT_FALSE(check_protocol_version_header("2025-03-26"));
  EXPECT_TRUE(check_protocol_version_header("2025-06-18 "));
  EXPECT_TRUE(check_protocol_version_header(""));
  auto unsupported = check_protocol_version_header("2099-01-01");
  ASSERT_TRUE(unsupported);
  EXPECT_NE(unsupported->find("2025-11-25"), std::string::npos);
  EXPECT_TRUE(batches_allowed("2025-03-26"));
  EXPECT_FALSE(batches_allowed("2025-06-18"));
  EXPECT_FALSE(batches_allowed("2025-11-25"));
}

TEST(McpProtocol, OriginValidation) {
  EXPECT_TRUE(origin_allowed(std::nullopt, {}));
  EXPECT_TRUE(origin_allowed("http://localhost:6274", {}));
  EXPECT_TRUE(origin_allowed("http://127.0.0.1", {}));
  EXPECT_TRUE(origin_allowed("https://[::1]:8443", {}));
  EXPECT_FALSE(origin_allowed("http://evil.example", {}));
  EXPECT_FALSE(origin_allowed("http://localhost.evil.example", {}));
  EXPECT_FALSE(origin_allowed("http://127.0.0.1.nip.io", {}));
  EXPECT_FALSE(origin_allowed("http://evil.example@localhost", {}));
  EXPECT_FALSE(origin_allowed("null", {}));
  EXPECT_FALSE(origin_allowed("file://localhost", {}));
  EXPECT_TRUE(origin_allowed("https://app.example", {"https://app.example"}));
}

TEST(McpProtocol, HostHeaderParsing) {
  auto v6 = parse_host_header("[::1]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
  auto name = parse_host_header("LocalHost");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "localhost");
  EXPECT_FALSE(name->port);
  for (std::string_view bad :
       {"", ":80", "localhost:", "localhost:65536", "localhost:8o", "::1", "[::1", "[::1]x", "[evil]:1",
        "[fe80::1%25eth0]", "a b", "evil@127.0.0.1", "127.0.0.1/x", "localhost:80:80", "localhost:123456"})
    EXPECT_FALSE(parse_host_header(bad)) << bad;
}

TEST(McpProtocol, HostValidation) {
  for (std::string_view ok :
       {"localhost", "localhost:3000", "LOCALHOST:1", "localhost.", "localhost.:80", "127.0.0.1",
        "127.0.0.1:41234", "127.1.2.3:5", "[::1]", "[::1]:80", "[0:0:0:0:0:0:0:1]:80"})
    EXPECT_TRUE(host_allowed(ok, {})) << ok;
  for (std::string_view bad :
       {"evil.example", "evil.example:41234", "localhost.evil.example", "evil.localhost", "127.0.0.1.nip.io",
        "128.0.0.1", "0.0.0.0", "10.0.2.2:80", "[::2]", "[::ffff:127.0.0.1]", "127.1", "0x7f.0.0.1",
        "2130706433", "localhost..", ""})
    EXPECT_FALSE(host_allowed(bad, {})) << bad;
  EXPECT_FALSE(host_allowed(std::nullopt, {})) << "HTTP/1.1 requires Host";
  EXPECT_TRUE(host_allowed("MCP.example:80", {"mcp.example"}));
  EXPECT_TRUE(host_allowed("[fe80::1]:80", {"fe80::1"}));
  EXPECT_TRUE(host_allowed("[fe80::1]:80", {"[fe80::1]"}));
  EXPECT_FALSE(host_allowed("other.example", {"mcp.example"}));
}

TEST(McpProtocol, AcceptParsing) {
  auto both = parse_accept("application/json, text/event-stream");
  EXPECT_TRUE(both.json && both.sse);
  auto json_only = parse_accept("application/json;q=1");
  EXPECT_TRUE(json_only.json && !json_only.sse);
  auto any = parse_accept("*/*");
  EXPECT_TRUE(any.json && any.sse);
  auto none = parse_accept("image/png");
  EXPECT_FALSE(none.json || none.sse);
}

TEST(McpProtocol, SseRoundTrip) {
  std::string wire = format_sse_event("7-1", "message", "line1\nline2") + ": keep-alive\n\n" +
                     format_sse_event("", "endpoint", "/messages?session_id=abc");
  SseParser parser;
  std::vector<SseParser::Event> events;
  for (char c : wire)  // byte by byte: framing must not depend on read boundaries
    for (auto& e : parser.feed(std::string_view(&c, 1))) events.push_back(e);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, "7-1");
  EXPECT_EQ(events[0].event, "message");
  EXPECT_EQ(events[0].data, "line1\nline2");
  EXPECT_EQ(events[1].event, "endpoint");
  EXPECT_EQ(events[1].data, "/messages?session_id=abc");
}

TEST(McpProtocol, SseParserCrLfAndLimits) {
  SseParser parser;
  auto events = parser.feed("data: a\r\n\r\ndata:b\r\rid: 1\ndata: c\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[1].data, "b");
  EXPECT_EQ(events[2].id, "1");
  SseParser small(8);
  small.feed("data: 0123456789");
  EXPECT_TRUE(small.failed());
}

// A server that sends `data:` lines and never the blank line that ends the event must not grow the
// event without bound: the event counts against the same limit as a line.
TEST(McpProtocol, SseParserBoundsAnEventsData) {
  SseParser parser(1000);
  for (int i = 0; i < 2000 && !parser.failed(); ++i) EXPECT_TRUE(parser.feed("data: x\n").empty());
  EXPECT_TRUE(parser.failed());
  SseParser fits(1000);
  std::string event;
  for (int i = 0; i < 300; ++i) event += "data: x\n";  // 599 bytes of data
  EXPECT_EQ(fits.feed(event + "\n").size(), 1u);
  EXPECT_FALSE(fits.failed());
}

TEST(McpProtocol, SessionIdsAreRandomHex) {
  std::string a = new_session_id(), b = new_session_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace mcpvm::mcp

namespace mcpvm::mcp {
namespace {

TEST(EndpointUrl, BothUrlsOfOnePortAndBack) {
  EndpointUrl url{"127.0.0.1", 41234};
  EXPECT_EQ(url.streamable_http(), "http://127.0.0.1:41234/mcp");
  EXPECT_EQ(url.sse(), "http://127.0.0.1:41234/sse");
  for (const auto& text : {url.streamable_http(), url.sse()}) {
    auto back = parse_endpoint_url(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(back->port, 41234);
    EXPECT_EQ(back->host, "127.0.0.1");
  }
  for (const char* bad : {"", "http://127.0.0.1:41234/", "http://127.0.0.1/mcp", "http://127.0.0.1:0/mcp",
                          "http://127.0.0.1:70000/mcp", "http://127.0.0.1:12ab/mcp",
                          "https://127.0.0.1:1/mcp", "http://:80/mcp"})
    EXPECT_FALSE(parse_endpoint_url(bad)) << bad;
}

}  // namespace
}  // namespace mcpvm::mcp
