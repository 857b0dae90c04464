#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <random>
#include <thread>

#include "runner/control.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::runner {
namespace {

TEST(LineBuffer, SplitsAcrossArbitraryChunks) {
  std::string stream = "{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}\n";
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    LineBuffer b;
    std::vector<std::string> lines;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      b.feed(std::string_view(stream).substr(i, chunk));
      while (auto l = b.next_line()) lines.push_back(*l);
    }
    EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"}));
  }
}

TEST(LineBuffer, RejectsOverlongLines) {
  LineBuffer b(16);
  EXPECT_THROW(b.feed(std::string(17, 'x')), Error);
  LineBuffer c(16);
  c.feed("short\n");
  EXPECT_THROW(c.feed(std::string(20, 'y')), Error);
  LineBuffer d(16);
  EXPECT_THROW(
      {
        d.feed("ok\n" + std::string(20, 'z') + "\n");
        while (d.next_line()) {
        }
      },
      Error);
}

TEST(ControlLine, RejectsNonObjects) {
  EXPECT_EQ(parse_control_line("{\"op\":\"status\"}")["op"], "status");
  for (auto bad : {"", "[1]", "3", "\"x\"", "{", "{\"a\":}", "null", "{}}"})
    EXPECT_THROW(parse_control_line(bad), Error) << bad;
}

TEST(ControlLine, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string s(size_t(rng() % 64), '\0');
    for (auto& ch : s) ch = char(rng() % 256);
    try {
      LineBuffer b(32);
      b.feed(s);
      while (auto l = b.next_line()) parse_control_line(*l);
    } catch (const Error&) {
    }
  }
}

TEST(Base64, RoundTripsAllLengths) {
  std::string data;
  for (int n = 0; n < 70; ++n) {
    EXPECT_EQ(base64_decode(base64_encode(data)), data);
    data += char(n * 37);
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  for (auto bad : {"a", "abc", "ab=c", "a===", "====", "ab!d", "aGVsbG8=aGVs"})
    EXPECT_THROW(base64_decode(bad), Error) << bad;
}

TEST(ControlSocket, RequestReplyAndPermissions) {
  TempDir dir;
  auto path = dir.path() / "control.sock";
  // A stale file where the socket goes (a dead runner's) must not stop a new runner.
  write_file_atomic(path, "stale");
  UniqueFd listener = listen_control(path);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {  // control_call uses one connection per request
      pollfd p{listener.get(), POLLIN, 0};
      ::poll(&p, 1, 5000);
      ControlChannel ch(UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)));
      auto req = ch.receive(5000);
      if (req && (*req)["op"] == "status")
        ch.send({{"ok", true}, {"echo", (*req)["op"]}});
      else
        ch.send({{"ok", false}, {"error", "nope"}});
    }
  });
  auto reply = control_call(path, {{"op", "status"}}, 5000);
  EXPECT_EQ(reply["echo"], "status");
  try {
    control_call(path, {{"op", "other"}}, 5000);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "nope");
  }
  server.join();
}

TEST(ControlSocket, NoRunnerIsAClearError) {
  TempDir dir;
  try {
    control_call(dir.path() / "control.sock", {{"op", "status"}}, 1000);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no runner"), std::string::npos);
  }
  EXPECT_THROW(connect_control(std::string(200, 'x')), Error);
}

}  // namespace
}  // namespace mcpvm::runner
