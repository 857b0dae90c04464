#include <gtest/gtest.h>

#include "guest/exec_protocol.h"
#include "runner/exec_bridge.h"
#include "util/error.h"

using namespace mcpvm::guest;
using nlohmann::json;

TEST(ExecProtocol, StartRoundTrips) {
  ExecStart s;
  s.argv = {"sh", "-c", "echo \xff"};
  s.env = {"A=1", "B="};
  s.tty = true;
  s.rows = 50;
  s.cols = 132;
  s.user = "app:app";
  s.workdir = "/tmp";
  ExecStart t = parse_exec_start(encode_exec_start(s));
  EXPECT_EQ(t.argv.size(), 3u);
  EXPECT_EQ(t.argv[0], "sh");
  EXPECT_EQ(t.env, s.env);
  EXPECT_TRUE(t.tty);
  EXPECT_EQ(t.rows, 50);
  EXPECT_EQ(t.cols, 132);
  EXPECT_EQ(t.user, "app:app");
  EXPECT_EQ(t.workdir, "/tmp");
}

TEST(ExecProtocol, StartRejectsMalformedPayloads) {
  for (const char* bad :
       {"", "[]", "null", "{", R"({"argv":[]})", R"({"argv":[""]})", R"({"argv":"sh"})", R"({"argv":[1]})",
        R"({"argv":["sh"],"env":"A=1"})", R"({"argv":["sh"],"tty":1})", R"({"argv":["sh"],"rows":-1})",
        R"({"argv":["sh"],"cols":70000})", R"({"argv":["sh"],"rows":1.5})", R"({"argv":["sh"],"user":5})",
        R"({"argv":["s\u0000h"]})", R"({"argv":["sh"],"workdir":"/a\u0000b"})",
        R"({"argv":["sh"],"rows":18446744073709551615})"}) {
    EXPECT_THROW(parse_exec_start(bad), ProtocolError) << bad;
  }
}

// A hostile guest's exit/ack payloads and a hostile host's start are parsed by the same function: a
// nesting bomb is refused before nlohmann's recursive copy could overflow the stack.
TEST(ExecProtocol, NestingBombsAreRefused) {
  std::string bomb = R"({"argv":["sh"],"env":)" + std::string(200000, '[') + std::string(200000, ']') + "}";
  try {
    parse_exec_start(bomb);
    ADD_FAILURE() << "accepted";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than"), std::string::npos) << e.what();
  }
}

TEST(ExecProtocol, StartCapsTheNumberOfArguments) {
  json j{{"argv", std::vector<std::string>(kExecMaxArgs + 1, "x")}};
  EXPECT_THROW(parse_exec_start(j.dump()), ProtocolError);
  j["argv"] = std::vector<std::string>(kExecMaxArgs, "x");
  EXPECT_EQ(parse_exec_start(j.dump()).argv.size(), kExecMaxArgs);
}

TEST(ExecProtocol, ExitValidatesCodeAndSignal) {
  ExecExit e = parse_exec_exit(encode_exec_exit({137, 9, ""}));
  EXPECT_EQ(e.code, 137);
  EXPECT_EQ(e.signal, 9);
  EXPECT_EQ(parse_exec_exit(encode_exec_exit({127, 0, "not found"})).error, "not found");
  for (const char* bad : {"{}", R"({"code":256})", R"({"code":-1})", R"({"code":"0"})",
                          R"({"code":0,"signal":65})", R"({"code":0,"error":3})", "x"})
    EXPECT_THROW(parse_exec_exit(bad), ProtocolError) << bad;
  // An over-long error message is cut, not trusted.
  EXPECT_EQ(parse_exec_exit(json{{"code", 1}, {"error", std::string(100000, 'e')}}.dump()).error.size(),
            4096u);
}

TEST(ExecProtocol, SignalResizeAndAckRanges) {
  EXPECT_EQ(parse_exec_signal(encode_exec_signal(2)), 2);
  for (const char* bad : {R"({"signal":0})", R"({"signal":65})", "{}", R"({"signal":"2"})"})
    EXPECT_THROW(parse_exec_signal(bad), ProtocolError) << bad;
  WindowSize w = parse_resize(encode_resize({40, 100}));
  EXPECT_EQ(w.rows, 40);
  EXPECT_EQ(w.cols, 100);
  for (const char* bad : {R"({"rows":1})", R"({"rows":1,"cols":65536})", "[]"})
    EXPECT_THROW(parse_resize(bad), ProtocolError) << bad;
  EXPECT_EQ(parse_ack(encode_ack(kExecWindow)), kExecWindow);
  for (std::string bad : {std::string(R"({"bytes":0})"), json{{"bytes", kExecWindow + 1}}.dump(),
                          std::string(R"({"bytes":-5})"), std::string("{}")})
    EXPECT_THROW(parse_ack(bad), ProtocolError) << bad;
}

TEST(ExecProtocol, WindowsBoundWhatIsInFlight) {
  SendWindow send;
  send.sent(kExecWindow);
  EXPECT_EQ(send.available(), 0u);
  EXPECT_THROW(send.acked(kExecWindow + 1), ProtocolError);
  send.acked(1000);
  EXPECT_EQ(send.available(), 1000u);

  ReceiveWindow recv;
  recv.received(kExecWindow);
  EXPECT_THROW(recv.received(1), ProtocolError);
  // Consuming a little is not acknowledged at once (batched), consuming everything is.
  EXPECT_EQ(recv.consumed(10), 0u);
  EXPECT_THROW(recv.received(11), ProtocolError);  // the sender still counts the 10 unacknowledged bytes
  EXPECT_EQ(recv.consumed(kExecWindow - 10), kExecWindow);
  recv.received(kExecWindow);
}

TEST(ExecRequest, BuildsTheStartFromTheClientsRequest) {
  auto s = mcpvm::runner::exec_start_from_request(json{{"op", "exec"},
                                                       {"argv", {"ls", "-l"}},
                                                       {"tty", true},
                                                       {"rows", 10},
                                                       {"cols", 20},
                                                       {"env", {"A=b"}},
                                                       {"user", "1000"},
                                                       {"workdir", "/srv"}});
  EXPECT_EQ(s.argv, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_TRUE(s.tty);
  EXPECT_EQ(s.rows, 10);
  EXPECT_EQ(s.cols, 20);
  EXPECT_EQ(s.env, std::vector<std::string>{"A=b"});
  EXPECT_EQ(s.user, "1000");
  EXPECT_EQ(s.workdir, "/srv");
}

TEST(ExecRequest, RejectsMalformedRequestsWithAnError) {
  for (json bad : {json{{"op", "exec"}}, json{{"argv", json::array()}}, json{{"argv", "ls"}},
                   json{{"argv", {1}}}, json{{"argv", {"ls"}}, {"env", {"NOEQUALS"}}},
                   json{{"argv", {"ls"}}, {"env", {"=x"}}}, json{{"argv", {"ls"}}, {"tty", "yes"}},
                   json{{"argv", {"ls"}}, {"rows", -1}}, json{{"argv", {"ls"}}, {"cols", 65536}},
                   json{{"argv", {"ls"}}, {"user", 0}}, json{{"argv", {std::string("l\0s", 3)}}}}) {
    EXPECT_THROW(mcpvm::runner::exec_start_from_request(bad), mcpvm::Error) << bad.dump();
  }
}
