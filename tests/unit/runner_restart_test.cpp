#include <gtest/gtest.h>

#include "runner/restart.h"
#include "util/error.h"

namespace mcpvm::runner {
namespace {

using namespace std::chrono_literals;

TEST(RestartPolicy, Parses) {
  EXPECT_EQ(RestartPolicy::parse("no").kind, RestartPolicy::Kind::no);
  EXPECT_EQ(RestartPolicy::parse("always").kind, RestartPolicy::Kind::always);
  auto p = RestartPolicy::parse("on-failure");
  EXPECT_EQ(p.kind, RestartPolicy::Kind::on_failure);
  EXPECT_EQ(p.max_retries, 10);
  EXPECT_EQ(RestartPolicy::parse("on-failure:3").max_retries, 3);
  EXPECT_EQ(RestartPolicy::parse("on-failure:0").max_retries, 0);
  for (auto bad : {"sometimes", "on-failure:", "on-failure:-1", "on-failure:x", "on-failure:3x",
                   "on-failure3", "on-failure:1001", "always:3", "on-failure:99999999999"})
    EXPECT_THROW(RestartPolicy::parse(bad), Error) << bad;
  for (auto s : {"no", "always", "on-failure", "on-failure:3"})
    EXPECT_EQ(RestartPolicy::parse(s).to_string(), s);
}

TEST(RestartPolicy, WhenToRestart) {
  auto onf = RestartPolicy::parse("on-failure");
  EXPECT_FALSE(onf.wants_restart(0, false));
  EXPECT_TRUE(onf.wants_restart(1, false));
  EXPECT_TRUE(onf.wants_restart(std::nullopt, false));
  EXPECT_FALSE(onf.wants_restart(1, true));
  EXPECT_TRUE(RestartPolicy::parse("always").wants_restart(0, false));
  EXPECT_FALSE(RestartPolicy::parse("always").wants_restart(0, true));
  EXPECT_FALSE(RestartPolicy{}.wants_restart(1, false));
}

TEST(RestartTracker, ToolHiveBackoff) {
  RestartTracker t(RestartPolicy::parse("on-failure"));
  std::vector<long> delays;
  while (auto d = t.on_exit(1, 1s, false)) delays.push_back(long(d->count()));
  EXPECT_EQ(delays, (std::vector<long>{5000, 10000, 20000, 40000, 60000, 60000, 60000, 60000, 60000, 60000}));
  EXPECT_EQ(t.restarts(), 10);
}

TEST(RestartTracker, ResetsAfterThirtySecondsOfUptime) {
  RestartTracker t(RestartPolicy::parse("on-failure:2"));
  EXPECT_EQ(t.on_exit(1, 1s, false), 5000ms);
  EXPECT_EQ(t.on_exit(1, 1s, false), 10000ms);
  EXPECT_EQ(t.on_exit(1, 1s, false), std::nullopt);  // 2 retries used up
  RestartTracker u(RestartPolicy::parse("on-failure:2"));
  u.on_exit(1, 1s, false);
  u.on_exit(1, 1s, false);
  EXPECT_EQ(u.on_exit(1, 31s, false), 5000ms);  // it ran long enough: counting starts again
  EXPECT_EQ(u.restarts(), 3);
}

TEST(RestartTracker, AlwaysHasNoLimitButCapsDelay) {
  RestartTracker t(RestartPolicy::parse("always"), {100ms, 400ms, 30s});
  std::chrono::milliseconds last{};
  for (int i = 0; i < 50; ++i) {
    auto d = t.on_exit(0, 1ms, false);
    ASSERT_TRUE(d);
    last = *d;
  }
  EXPECT_EQ(last, 400ms);
  EXPECT_EQ(t.on_exit(0, 1ms, true), std::nullopt);
}

TEST(RestartTracker, NoPolicyNeverRestarts) {
  RestartTracker t(RestartPolicy{});
  EXPECT_EQ(t.on_exit(1, 1s, false), std::nullopt);
  EXPECT_EQ(t.restarts(), 0);
}

}  // namespace
}  // namespace mcpvm::runner

#include "runner/probe.h"

namespace mcpvm::runner {
namespace {

TEST(Duration, Parses) {
  EXPECT_EQ(parse_duration("60").count(), 60);
  EXPECT_EQ(parse_duration("60s").count(), 60);
  EXPECT_EQ(parse_duration("2m").count(), 120);
  EXPECT_EQ(parse_duration("1h").count(), 3600);
  for (auto bad : {"", "s", "0", "-1", "1.5s", "10x", "25h", "99999999999999999999", " 5"})
    EXPECT_THROW(parse_duration(bad), Error) << bad;
}

TEST(Probe, ClosedPortIsNotReady) {
  std::string detail;
  EXPECT_FALSE(probe_http("/nonexistent/upstream.sock", std::chrono::milliseconds(500), detail));
  EXPECT_FALSE(detail.empty());
  EXPECT_FALSE(probe_mcp_initialize(1, "/mcp", "", std::chrono::milliseconds(500), detail));
}

}  // namespace
}  // namespace mcpvm::runner
