#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include <fmt/format.h>

#include "runner/identity.h"
#include "util/fs.h"
#include "util/process.h"

namespace mcpvm::runner {
namespace {

std::string stat_line(std::string_view comm, std::string_view start) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
  // cstime priority nice threads itrealvalue starttime vsize ...
  return fmt::format("123 ({}) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {} 1000 200 0\n", comm,
                     start);
}

TEST(StatParse, ReadsField22) {
  EXPECT_EQ(parse_stat_start_time(stat_line("sleep", "98765")), 98765u);
}

TEST(StatParse, CommWithSpacesAndParentheses) {
  EXPECT_EQ(parse_stat_start_time(stat_line("a) b (c) 1 2 3", "4242")), 4242u);
  EXPECT_EQ(parse_stat_start_time(stat_line(")", "7")), 7u);
}

TEST(StatParse, RejectsMalformed) {
  for (std::string_view bad :
       {"", "123", "123 (x", "123 x) S 1", "123 (x) S 1 2 3", "123 (x)  S 1",
        "123 (x) S 1 123 123 0 -1 4 1 0 0 0 1 2 0 0 20 0 1 0 12a 100",
        "123 (x) S 1 123 123 0 -1 4 1 0 0 0 1 2 0 0 20 0 1 0 -5 100",
        "123 (x) S 1 123 123 0 -1 4 1 0 0 0 1 2 0 0 20 0 1 0 99999999999999999999999 1"}) {
    EXPECT_FALSE(parse_stat_start_time(bad).has_value()) << bad;
  }
}

TEST(StatParse, LastFieldWithoutTrailingSpace) {
  EXPECT_EQ(parse_stat_start_time("1 (x) S 1 1 1 0 -1 4 1 0 0 0 1 2 0 0 20 0 1 0 55"), 55u);
}

TEST(Identity, SelfIsAliveAndMatchesProc) {
  auto me = self_identity();
  EXPECT_EQ(me.pid, ::getpid());
  EXPECT_GT(me.start_time, 0u);
  EXPECT_TRUE(is_alive(me));
}

TEST(Identity, WrongStartTimeIsNotAlive) {
  auto me = self_identity();
  ProcessIdentity recycled{me.pid, me.start_time + 1};
  EXPECT_FALSE(is_alive(recycled));
  // And we never signal it: SIGKILL to "ourselves with another start time" must be a no-op.
  EXPECT_FALSE(signal_process(recycled, SIGKILL));
  EXPECT_FALSE(is_alive(ProcessIdentity{}));
}

TEST(Identity, TerminateKillsTheProcessAndSeesItGone) {
  auto child = Subprocess::spawn({"sh", "-c", "trap '' TERM; exec sleep 30"}, {.stdin_null = true});
  // Wait for the exec: from then on TERM is ignored (the disposition survives exec).
  for (int i = 0; i < 500 && read_file(fmt::format("/proc/{}/comm", child.pid())) != "sleep\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto id = identify(child.pid());
  ASSERT_TRUE(id);
  EXPECT_TRUE(is_alive(*id));
  // A zombie counts as gone: TERM is ignored, so terminate() must escalate to KILL.
  EXPECT_TRUE(terminate_process(*id, 200));
  EXPECT_FALSE(is_alive(*id));
  auto st = child.wait();
  EXPECT_TRUE(st.signaled());
  EXPECT_EQ(st.signal(), SIGKILL);
}

TEST(Identity, DeadPidIsNotAlive) {
  auto child = Subprocess::spawn({"true"});
  auto id = identify(child.pid());
  child.wait();
  if (id) {
    EXPECT_FALSE(is_alive(*id));
  }
  EXPECT_FALSE(identify(child.pid()).has_value());
}

TEST(Identity, BootIdIsKnown) {
  EXPECT_EQ(current_boot_id().size(), 36u);
}

}  // namespace
}  // namespace mcpvm::runner
