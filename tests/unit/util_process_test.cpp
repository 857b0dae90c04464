#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

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

// Whether `pid` is gone: no such process, or a zombie no one reaps yet (its program ended either way).
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST(RunCommand, TimeoutKillsTheWholeGroup) {
  // The shell's background child is not the leader: only a kill of the whole group ends it.
  char dir[] = "/tmp/mcpvm-group-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string pid_file = std::string(dir) + "/bg.pid";
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run_command({"sh", "-c", "sleep 30 & echo $! >" + pid_file + "; sleep 30"},
                           std::chrono::milliseconds(1000)),
               Error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  std::ifstream in(pid_file);
  pid_t background = 0;
  ASSERT_TRUE(in >> background) << "the shell never started its background child";
  ::unlink(pid_file.c_str());
  ::rmdir(dir);
  for (int i = 0; i < 100 && !process_gone(background); ++i) ::usleep(20000);
  EXPECT_TRUE(process_gone(background)) << "the background child " << background << " outlived the timeout";
  if (!process_gone(background)) ::kill(background, SIGKILL);
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
