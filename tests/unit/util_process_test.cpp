#include <gtest/gtest.h>
#include <signal.h>

#include "util/error.h"
#include "util/process.h"

namespace mcpvm {
namespace {

TEST(RunCommand, CapturesOutputAndExitCode) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_TRUE(r.status.exited());
  EXPECT_EQ(r.status.code(), 3);
}

TEST(RunCommand, FeedsStdin) {
  std::string big(1 << 20, 'x');
  auto r = run_command({"wc", "-c"}, std::chrono::seconds(10), {}, big);
  EXPECT_EQ(std::stoul(r.out), big.size());
}

TEST(RunCommand, TimeoutKillsTheWholeGroup) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run_command({"sh", "-c", "sleep 30 & sleep 30"}, std::chrono::milliseconds(300)), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RunCommand, MissingBinaryIs127) {
  auto r = run_command({"/nonexistent/binary"});
  EXPECT_EQ(r.status.code(), 127);
  EXPECT_NE(r.err.find("/nonexistent/binary"), std::string::npos);
}

TEST(Subprocess, DestructorKillsRunningChild) {
  pid_t pid;
  {
    auto p = Subprocess::spawn({"sleep", "30"}, {.stdin_null = true});
    pid = p.pid();
    EXPECT_TRUE(p.running());
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: the pid no longer exists for us
}

TEST(Subprocess, TerminateReportsSignal) {
  auto p = Subprocess::spawn({"sleep", "30"});
  auto st = p.terminate(std::chrono::seconds(2));
  EXPECT_TRUE(st.signaled());
  EXPECT_EQ(st.shell_code(), 128 + SIGTERM);
}

TEST(Subprocess, FdMappingPassesDescriptors) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  auto r = run_command({"sh", "-c", "echo via5 >&5"}, std::chrono::seconds(5), {.fds = {{p[1], 5}}});
  ::close(p[1]);
  char buf[16] = {};
  ASSERT_GT(::read(p[0], buf, sizeof buf - 1), 0);
  ::close(p[0]);
  EXPECT_STREQ(buf, "via5\n");
  EXPECT_EQ(r.status.code(), 0);
}

}  // namespace
}  // namespace mcpvm
