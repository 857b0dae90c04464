#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "runner/state.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::runner {
namespace {

VmState sample_state() {
  VmState s;
  s.name = "fetch";
  s.image = "127.0.0.1:5000/mcp/fetch:1";
  s.image_digest = "sha256:abc";
  s.status = Status::running;
  s.exit_code = 3;
  s.runner = {1234, 99};
  s.qemu = {1240, 101};
  s.boot_id = current_boot_id();
  s.endpoint = "http://127.0.0.1:41234/mcp";
  s.created_at = 1700000000;
  s.restart_count = 2;
  return s;
}

TEST(State, RoundTrips) {
  VmState s = sample_state();
  VmState back = parse_vm_state(to_json(s).dump());
  EXPECT_EQ(to_json(back), to_json(s));
  EXPECT_EQ(back.qemu, (ProcessIdentity{1240, 101}));
  EXPECT_EQ(back.exit_code, 3);
}

TEST(State, EveryTruncationIsAClearError) {
  std::string text = to_json(sample_state()).dump(2);
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    try {
      parse_vm_state(std::string_view(text).substr(0, n));
      ADD_FAILURE() << "accepted a truncation at " << n;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("rm -f"), std::string::npos) << e.what();
    }
  }
}

TEST(State, WrongTypesAndValuesAreRejected) {
  auto base = to_json(sample_state());
  std::vector<std::pair<const char*, nlohmann::json>> bad = {
      {"status", "dancing"},   {"status", 3},      {"runner", "x"}, {"qemu", {{"pid", "1"}}},
      {"qemu", {{"pid", -4}}}, {"exit_code", "x"}, {"name", 5},     {"restart_count", "many"}};
  for (auto& [key, value] : bad) {
    auto j = base;
    j[key] = value;
    EXPECT_THROW(parse_vm_state(j.dump()), Error) << key << "=" << value.dump();
  }
  EXPECT_THROW(parse_vm_state("[]"), Error);
  EXPECT_THROW(parse_vm_state("null"), Error);
  EXPECT_THROW(parse_vm_state(std::string("{\"status\":\"running\"\0}", 21)), Error);
}

// config.json's round trip and validation: runner_run_config_test.cpp.

TEST(State, SchemaVersionIsWrittenAndANewerOneRefused) {
  auto j = to_json(sample_state());
  EXPECT_EQ(j["schema_version"], kVmStateSchema);
  j.erase("schema_version");
  EXPECT_NO_THROW(parse_vm_state(j.dump())) << "files of mcpvm 0.1 carry none";
  j["schema_version"] = kVmStateSchema + 1;
  try {
    parse_vm_state(j.dump());
    ADD_FAILURE() << "a newer schema was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

Observed obs(bool runner, bool qemu, bool same_boot = true) {
  return {runner, qemu, same_boot};
}

TEST(Reconcile, Table) {
  VmState s = sample_state();
  s.status = Status::running;
  EXPECT_EQ(reconcile(s, obs(true, true)).status, Status::running);
  EXPECT_EQ(reconcile(s, obs(true, false)).status, Status::unhealthy);
  auto orphan = reconcile(s, obs(false, true));
  EXPECT_EQ(orphan.status, Status::unhealthy);
  EXPECT_NE(orphan.note.find("orphaned"), std::string::npos);
  EXPECT_EQ(reconcile(s, obs(false, false)).status, Status::error);
  EXPECT_EQ(reconcile(s, obs(false, false, false)).status, Status::stopped);  // host rebooted

  s.status = Status::restarting;  // between runs the runner has no QEMU
  EXPECT_EQ(reconcile(s, obs(true, false)).status, Status::restarting);
  s.status = Status::starting;
  s.qemu = {};
  EXPECT_EQ(reconcile(s, obs(true, false)).status, Status::starting);

  s.status = Status::exited;  // final states stay as recorded when nothing runs
  EXPECT_EQ(reconcile(s, obs(false, false)).status, Status::exited);
  EXPECT_EQ(reconcile(s, obs(false, false, false)).status, Status::exited);
  s.status = Status::stopped;
  EXPECT_EQ(reconcile(s, obs(false, false)).status, Status::stopped);
  s.qemu = {5, 5};
  EXPECT_EQ(reconcile(s, obs(false, true)).status, Status::unhealthy);  // a leftover QEMU is never "stopped"
}

TEST(Reconcile, ObserveUsesStartTimes) {
  VmState s = sample_state();
  s.runner = self_identity();
  s.qemu = {s.runner.pid, s.runner.start_time + 7};  // a "recycled" pid
  auto o = observe(s);
  EXPECT_TRUE(o.runner_alive);
  EXPECT_FALSE(o.qemu_alive);
  s.boot_id = "00000000-0000-0000-0000-000000000000";
  o = observe(s);
  EXPECT_FALSE(o.same_boot);
  EXPECT_FALSE(o.runner_alive);
}

class VmDirTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("MCPVM_HOME", home_.path().c_str(), 1); }
  void TearDown() override { ::unsetenv("MCPVM_HOME"); }
  TempDir home_;
};

TEST_F(VmDirTest, CreateSaveLoadRemove) {
  auto dir = VmDir::create("alpha");
  struct stat st;
  ASSERT_EQ(::stat(dir.root().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_THROW(dir.load_state(), Error);  // no state yet: a clear error, not a crash
  VmState s = sample_state();
  dir.save_state(s);
  ASSERT_EQ(::stat(dir.state_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(to_json(dir.load_state()), to_json(s));
  EXPECT_EQ(VmDir::list_names(), std::vector<std::string>{"alpha"});
  write_file_atomic(dir.state_path(), "{\"name\": \"alp");
  try {
    dir.load_state();
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos);
  }
  dir.remove();
  EXPECT_FALSE(dir.exists());
  EXPECT_THROW(VmDir::for_name("alpha").load_state(), Error);
}

TEST_F(VmDirTest, ADirectoryOthersCanWriteIsRefused) {
  auto dir = VmDir::create("open");
  ASSERT_EQ(::chmod(dir.root().c_str(), 0777), 0);
  try {
    VmDir::for_name("open");
    ADD_FAILURE() << "a world-writable VM directory was used";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chmod go-w"), std::string::npos) << e.what();
  }
}

TEST_F(VmDirTest, NameClaimIsExclusive) {
  VmDir::create("taken");
  try {
    VmDir::create("taken");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already in use"), std::string::npos);
  }
  EXPECT_THROW(VmDir::create("../escape"), Error);
}

TEST_F(VmDirTest, ConcurrentClaimsHaveExactlyOneWinner) {
  for (int round = 0; round < 20; ++round) {
    std::string name = "race" + std::to_string(round);
    std::atomic<int> wins{0}, losses{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
      threads.emplace_back([&] {
        try {
          VmDir::create(name);
          ++wins;
        } catch (const Error&) {
          ++losses;
        }
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(losses.load(), 7);
  }
}

TEST_F(VmDirTest, RunnerLockIsDetected) {
  auto dir = VmDir::create("locked");
  EXPECT_FALSE(dir.runner_holds_lock());
  {
    FileLock held(dir.runner_lock());
    EXPECT_TRUE(dir.runner_holds_lock());
  }
  EXPECT_FALSE(dir.runner_holds_lock());
}

}  // namespace
}  // namespace mcpvm::runner
