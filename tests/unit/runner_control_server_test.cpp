// ControlServer (runner/control_server.h): connections are bounded and cleaned up, and no request, however
// malformed, can take the server down.
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "runner/control.h"
#include "runner/control_server.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::runner {
namespace {

size_t count_entries(const char* dir) {
  size_t n = 0;
  DIR* d = ::opendir(dir);
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}
size_t open_fds() {
  return count_entries("/proc/self/fd");
}
size_t threads() {
  return count_entries("/proc/self/task");
}

// A handler like the runner's: parse the typed request, answer status.
void answer(ControlChannel& channel) {
  auto message = channel.receive(5000);
  if (!message) return;
  ControlRequest r = parse_control_request(*message);
  channel.send({{"ok", true}, {"op", int(r.op)}});
}

// Abandoned connections may still be closing on the server when the next one arrives: a "busy" answer is
// the cap doing its job, so try again.
void call_until_served(const std::filesystem::path& socket) {
  for (int attempt = 0;; ++attempt) {
    try {
      control_call(socket, {{"op", "status"}}, 5000);
      return;
    } catch (const Error& e) {
      if (attempt > 100 || std::string(e.what()).find("busy") == std::string::npos) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

TEST(ControlServer, TwoThousandConnectionsLeaveFdsAndThreadsWhereTheyWere) {
  TempDir dir;
  auto socket = dir.path() / "control.sock";
  ControlServer server(listen_control(socket), answer);
  control_call(socket, {{"op", "status"}}, 5000);  // warm up: the acceptor thread and its first connection
  size_t fds_before = open_fds(), threads_before = threads();
  for (int i = 0; i < 2000; ++i) {
    if (i % 2) {
      call_until_served(socket);
    } else {
      ControlChannel abandoned = connect_control(socket);  // a client that goes away without a request
    }
  }
  call_until_served(socket);  // its accept joins what finished before
  // Finished connections are joined on the next accept; a handful may still be closing.
  EXPECT_LE(open_fds(), fds_before + 2);
  EXPECT_LE(threads(), threads_before + 2);
}

TEST(ControlServer, ConnectionsBeyondTheCapAreRefusedNotQueued) {
  TempDir dir;
  auto socket = dir.path() / "control.sock";
  std::atomic<bool> release{false};
  std::atomic<int> holding{0};
  ControlServer server(
      listen_control(socket),
      [&](ControlChannel& channel) {
        ++holding;
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        channel.send({{"ok", true}});
      },
      4);
  std::vector<ControlChannel> held;
  for (int i = 0; i < 4; ++i) held.push_back(connect_control(socket));
  while (holding < 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  try {
    control_call(socket, {{"op", "status"}}, 5000);
    ADD_FAILURE() << "a fifth connection was served";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too many control connections"), std::string::npos) << e.what();
  }
  release = true;
  for (auto& c : held) EXPECT_TRUE(c.receive(5000).has_value());
  held.clear();
  EXPECT_NO_THROW(call_until_served(socket)) << "slots are free again once the held connections end";
}

TEST(ControlServer, MalformedRequestsAreAnsweredAndServingGoesOn) {
  TempDir dir;
  auto socket = dir.path() / "control.sock";
  ControlServer server(listen_control(socket), answer);
  // A valid nesting bomb under the 1 MiB line cap: copying it (as a typed request does) would recurse 500k
  // deep.
  const std::string bomb = R"({"op":)" + std::string(500000, '[') + std::string(500000, ']') + "}";
  for (const char* bad : {R"({"op":1})", R"({"op":null})", R"({"op":["stop"]})",
                          R"({"op":"stop","timeout_s":"x"})", R"({"op":"stop","timeout_s":-1})",
                          R"({"op":"reboot"})", R"({})", R"([1,2])", "nonsense", bomb.c_str()}) {
    ControlChannel c = connect_control(socket);
    std::string line = std::string(bad) + "\n";
    write_all(c.fd(), line);
    auto reply = c.receive(5000);
    ASSERT_TRUE(reply.has_value()) << bad;
    EXPECT_EQ((*reply)["ok"], false) << bad;
  }
  EXPECT_NO_THROW(control_call(socket, {{"op", "status"}}, 5000));
}

TEST(ControlRequest, TypedFieldsAreChecked) {
  EXPECT_EQ(parse_control_request({{"op", "stop"}, {"timeout_s", 2.5}}).stop_timeout,
            std::chrono::milliseconds(2500));
  EXPECT_EQ(parse_control_request({{"op", "exec"}, {"argv", {"sh"}}}).op, ControlRequest::Op::exec);
  ControlRequest restart = parse_control_request({{"op", "restart"}, {"timeout_s", 3}});
  EXPECT_EQ(restart.op, ControlRequest::Op::restart);
  EXPECT_EQ(restart.stop_timeout, std::chrono::milliseconds(3000));
  EXPECT_THROW(parse_control_request({{"op", 1}}), Error);
  EXPECT_THROW(parse_control_request({{"op", "stop"}, {"timeout_s", 1e12}}), Error);
  EXPECT_THROW(parse_control_request({{"op", "restart"}, {"timeout_s", "1"}}), Error);
}

}  // namespace
}  // namespace mcpvm::runner
