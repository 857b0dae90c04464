// The small shared helpers every concern uses: backoff, ports, socket pairs, strict JSON fields, locks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "util/backoff.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json_fields.h"
#include "util/port.h"
#include "util/socket.h"

namespace mcpvm {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheCapAndResets) {
  Backoff b(milliseconds(5), milliseconds(30));
  EXPECT_EQ(b.next(), milliseconds(5));
  EXPECT_EQ(b.next(), milliseconds(10));
  EXPECT_EQ(b.next(), milliseconds(20));
  EXPECT_EQ(b.next(), milliseconds(30));
  EXPECT_EQ(b.next(), milliseconds(30));
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(5));
}

TEST(Backoff, RetriesUntilSuccessAndRespectsDeadline) {
  int calls = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  EXPECT_TRUE(retry_with_backoff([&] { return ++calls == 4; }, deadline,
                                 Backoff(milliseconds(1), milliseconds(4)), [] { return false; }));
  EXPECT_EQ(calls, 4);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(retry_with_backoff([] { return false; }, start + milliseconds(200),
                                  Backoff(milliseconds(10), milliseconds(50)), [] { return false; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(retry_with_backoff([] { return false; }, start + std::chrono::seconds(60),
                                  Backoff(milliseconds(100), milliseconds(2000)), [] { return true; }));
}

TEST(Port, AcceptsOnlyDecimalPorts) {
  EXPECT_EQ(parse_port("1"), 1);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (auto bad : {"", "0", "65536", "-1", "+80", " 80", "80 ", "8o", "99999999999999999999", "0x50"})
    EXPECT_THROW(parse_port(bad), Error) << bad;
}

TEST(Socket, PairIsConnectedAndCloseOnExec) {
  auto [a, b] = stream_socketpair();
  ASSERT_EQ(::write(a.get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(b.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
  EXPECT_NE(::fcntl(a.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_GT(free_loopback_port(), 0);
}

TEST(FileLock, SharedLocksCoexistAndExcludeTheExclusiveOne) {
  TempDir dir;
  auto path = dir.path() / "lock";
  FileLock a(path, FileLock::Mode::shared);
  FileLock b(path, FileLock::Mode::shared);
  EXPECT_FALSE(FileLock::try_lock(path).locked());
}

std::string strict_error(const nlohmann::json& j) {
  try {
    JsonFields f(j, "cfg");
    f.required<std::string>("name");
    f.get<uint16_t>("port", 0);
    f.get<bool>("on", false);
    f.get<std::vector<std::string>>("args", {});
    f.finish();
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(JsonFields, NamesTheKeyOfEveryMistake) {
  EXPECT_EQ(strict_error({{"name", "x"}, {"port", 80}, {"on", true}, {"args", {"a"}}}), "accepted");
  EXPECT_EQ(strict_error(nlohmann::json::array()), "cfg: expected an object");
  EXPECT_EQ(strict_error({{"port", 80}}), "cfg.name: missing");
  EXPECT_EQ(strict_error({{"name", 1}}), "cfg.name: expected a string");
  EXPECT_EQ(strict_error({{"name", "x"}, {"port", 70000}}), "cfg.port: expected an integer in range");
  EXPECT_EQ(strict_error({{"name", "x"}, {"port", -1}}), "cfg.port: expected an integer in range");
  EXPECT_EQ(strict_error({{"name", "x"}, {"port", 8.5}}), "cfg.port: expected an integer in range");
  EXPECT_EQ(strict_error({{"name", "x"}, {"on", 1}}), "cfg.on: expected true or false");
  EXPECT_EQ(strict_error({{"name", "x"}, {"args", {"a", 2}}}), "cfg.args: expected an array of strings");
  EXPECT_EQ(strict_error({{"name", "x"}, {"extra", 2}}), "cfg.extra: unknown key");
}

}  // namespace
}  // namespace mcpvm
