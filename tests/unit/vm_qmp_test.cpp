// The QMP client (vm/qmp.h) against a scripted peer on a socketpair: events skipped, errors and malformed
// or oversized messages refused with one-line errors, a silent peer timed out.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "util/error.h"
#include "util/fs.h"
#include "util/socket.h"
#include "vm/qmp.h"

namespace mcpvm::vm {
namespace {

using namespace std::chrono_literals;

constexpr const char* kGreeting = R"({"QMP": {"version": {}, "capabilities": []}})"
                                  "\r\n";

// Best effort: the client may hang up mid-answer (that is what some cases test).
void send_quietly(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += size_t(n);
  }
}

// The peer greets, then answers each request line with the next entry of `answers`.
std::thread peer(UniqueFd fd, std::vector<std::string> answers) {
  return std::thread([fd = std::move(fd), answers = std::move(answers)]() mutable {
    send_quietly(fd.get(), kGreeting);
    for (const auto& a : answers) {
      char c = 0;
      while (::read(fd.get(), &c, 1) == 1 && c != '\n') {
      }
      send_quietly(fd.get(), a);
    }
    char buf[256];
    while (::read(fd.get(), buf, sizeof buf) > 0) {
    }
  });
}

TEST(Qmp, SkipsEventsAndReturnsTheResult) {
  auto [ours, theirs] = stream_socketpair();
  auto t = peer(
      std::move(theirs),
      {"{\"return\": {}}\r\n", "{\"event\": \"STOP\"}\r\n{\"return\": {\"status\": \"completed\"}}\r\n"});
  {
    QmpClient qmp(std::move(ours), 2s);
    EXPECT_EQ(qmp.execute("query-migrate")["status"], "completed");
  }
  t.join();
}

TEST(Qmp, ErrorsBadMessagesAndSilenceFail) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such file\"}}\r\n", "no such file"},
      {"not json\r\n", "malformed"},
      {"[1]\r\n", "malformed"},
      {"{\"surprise\": 1}\r\n", "unexpected reply"},
      {std::string(2 << 20, 'x'), "too large"},
  };
  for (const auto& [answer, expected] : cases) {
    auto [ours, theirs] = stream_socketpair();
    auto t = peer(std::move(theirs), {"{\"return\": {}}\r\n", answer});
    try {
      QmpClient qmp(std::move(ours), 2s);
      qmp.execute("stop", nullptr, 2s);
      ADD_FAILURE() << "accepted " << answer.substr(0, 40);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
    t.join();
  }
  auto [ours, theirs] = stream_socketpair();
  write_all(theirs.get(), kGreeting);
  EXPECT_THROW(QmpClient(std::move(ours), 200ms), Error) << "no answer to qmp_capabilities";
}

TEST(Qmp, MigrationFailureNamesQemusReason) {
  auto [ours, theirs] = stream_socketpair();
  auto t = peer(std::move(theirs),
                {"{\"return\": {}}\r\n", "{\"return\": {\"status\": \"active\"}}\r\n",
                 "{\"return\": {\"status\": \"failed\", \"error-desc\": \"load of migration failed\"}}\r\n"});
  try {
    QmpClient qmp(std::move(ours), 2s);
    qmp.wait_for_migration(5s);
    ADD_FAILURE() << "a failed migration was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("load of migration failed"), std::string::npos) << e.what();
  }
  t.join();
}

}  // namespace
}  // namespace mcpvm::vm
