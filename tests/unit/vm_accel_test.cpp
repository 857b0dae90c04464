// The `auto` acceleration decision without a working KVM: /dev/kvm's accessibility, the probe's outcome
// and timing, and the verdict cache are all fed in through an AccelHost.
#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"
#include "vm/accel.h"

using namespace mcpvm;
using namespace std::chrono_literals;
using vm::Accel;
using vm::AccelChoice;

namespace {

struct FakeHost {
  TempDir dir;
  int kvm_errno = 0;
  std::string key = "kernel-a|qemu-8.2";
  vm::ProbeOutcome outcome{true, 700ms};
  int probes = 0;

  vm::AccelHost host() {
    vm::AccelHost h;
    h.kvm_access = [this] { return kvm_errno; };
    h.cache_key = [this] { return key; };
    h.probe_kvm = [this](std::chrono::milliseconds deadline) {
      ++probes;
      EXPECT_EQ(deadline, 5000ms);
      return outcome;
    };
    h.cache_file = cache();
    return h;
  }
  std::filesystem::path cache() const { return dir.path() / "accel.json"; }
  nlohmann::json cache_json() const { return nlohmann::json::parse(read_file(cache())); }
  AccelChoice decide(std::optional<std::string> requested = std::nullopt) {
    return vm::decide_accel(requested, host());
  }
};

}  // namespace

TEST(VmAccel, ForcedTcgNeverProbes) {
  FakeHost f;
  f.kvm_errno = ENOENT;
  auto c = f.decide("tcg");
  EXPECT_EQ(c.accel, Accel::tcg);
  EXPECT_EQ(c.source, AccelChoice::Source::forced);
  EXPECT_TRUE(c.warning.empty());
  EXPECT_EQ(f.probes, 0);
}

TEST(VmAccel, ForcedKvmWithoutDevKvmIsAClearError) {
  FakeHost f;
  f.kvm_errno = ENOENT;
  try {
    f.decide("kvm");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("/dev/kvm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("MCPVM_ACCEL=auto"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
  f.kvm_errno = EACCES;
  EXPECT_THROW(f.decide("kvm"), Error);
  EXPECT_EQ(f.probes, 0);
}

TEST(VmAccel, ForcedKvmTrustsTheUserAndDoesNotProbe) {
  FakeHost f;
  f.outcome = {false, 5000ms};  // the probe would say no: forcing overrides it
  auto c = f.decide("kvm");
  EXPECT_EQ(c.accel, Accel::kvm);
  EXPECT_EQ(f.probes, 0);
  EXPECT_FALSE(std::filesystem::exists(f.cache()));
}

TEST(VmAccel, UnknownValueIsRefused) {
  FakeHost f;
  EXPECT_THROW(f.decide("xen"), Error);
  EXPECT_THROW(f.decide("KVM"), Error);
}

TEST(VmAccel, AutoWithoutDevKvmFallsBackWithAWarning) {
  FakeHost f;
  f.kvm_errno = ENOENT;
  for (auto requested : {std::optional<std::string>(), std::optional<std::string>("auto")}) {
    auto c = f.decide(requested);
    EXPECT_EQ(c.accel, Accel::tcg);
    EXPECT_EQ(c.source, AccelChoice::Source::no_kvm);
    EXPECT_NE(c.warning.find("/dev/kvm"), std::string::npos) << c.warning;
  }
  EXPECT_EQ(f.probes, 0);
  EXPECT_FALSE(std::filesystem::exists(f.cache())) << "no verdict to cache without /dev/kvm";
}

TEST(VmAccel, AFastProbeChoosesKvmAndIsCached) {
  FakeHost f;
  auto c = f.decide();
  EXPECT_EQ(c.accel, Accel::kvm);
  EXPECT_EQ(c.source, AccelChoice::Source::probe);
  EXPECT_TRUE(c.warning.empty());
  EXPECT_EQ(f.probes, 1);
  auto j = f.cache_json();
  EXPECT_EQ(j[f.key]["accel"], "kvm");
  EXPECT_EQ(j[f.key]["probe_ms"], 700);

  auto again = f.decide();
  EXPECT_EQ(again.accel, Accel::kvm);
  EXPECT_EQ(again.source, AccelChoice::Source::cache);
  EXPECT_EQ(f.probes, 1) << "the cached verdict must not probe again";
}

TEST(VmAccel, AProbeThatDoesNotBootChoosesTcgAndIsCached) {
  FakeHost f;
  f.outcome = {false, 5000ms};  // nested KVM: the deadline passed
  auto c = f.decide();
  EXPECT_EQ(c.accel, Accel::tcg);
  EXPECT_EQ(c.source, AccelChoice::Source::probe);
  EXPECT_NE(c.warning.find("did not boot"), std::string::npos) << c.warning;
  EXPECT_EQ(f.cache_json()[f.key]["accel"], "tcg");

  auto again = f.decide();
  EXPECT_EQ(again.accel, Accel::tcg);
  EXPECT_EQ(again.source, AccelChoice::Source::cache);
  EXPECT_NE(again.warning.find("earlier"), std::string::npos) << again.warning;
  EXPECT_EQ(f.probes, 1);
}

TEST(VmAccel, ABootThatReportedOnlyAfterTheDeadlineIsNotUsable) {
  EXPECT_TRUE(vm::kvm_is_usable({true, 4999ms}, 5000ms));
  EXPECT_TRUE(vm::kvm_is_usable({true, 5000ms}, 5000ms));
  EXPECT_FALSE(vm::kvm_is_usable({true, 5001ms}, 5000ms));
  EXPECT_FALSE(vm::kvm_is_usable({false, 100ms}, 5000ms));
  FakeHost f;
  f.outcome = {true, 9000ms};
  EXPECT_EQ(f.decide().accel, Accel::tcg);
}

TEST(VmAccel, ACorruptCacheIsProbedAgainAndRewritten) {
  const char* corrupt[] = {"",
                           "{\"kernel-a|qemu-8.2\": {\"accel\": \"kv",  // truncated
                           "not json at all",
                           "[\"kvm\"]",                                      // not an object
                           "{\"kernel-a|qemu-8.2\": 42}",                    // wrong type
                           "{\"kernel-a|qemu-8.2\": {\"accel\": \"xen\"}}",  // unknown verdict
                           "{\"kernel-a|qemu-8.2\": {\"accel\": null}}",
                           "\xff\xfe\x00garbage"};
  for (const char* text : corrupt) {
    FakeHost f;
    write_file_atomic(f.cache(), std::string(text));
    auto c = f.decide();
    EXPECT_EQ(f.probes, 1) << "cache: " << text;
    EXPECT_EQ(c.source, AccelChoice::Source::probe);
    EXPECT_EQ(c.accel, Accel::kvm);
    EXPECT_EQ(f.cache_json()[f.key]["accel"], "kvm") << "rewritten as valid JSON";
  }
}

TEST(VmAccel, AnOlderPlainStringVerdictIsStillHonoured) {
  FakeHost f;
  write_file_atomic(f.cache(), nlohmann::json{{f.key, "tcg"}}.dump());
  auto c = f.decide();
  EXPECT_EQ(c.accel, Accel::tcg);
  EXPECT_EQ(c.source, AccelChoice::Source::cache);
  EXPECT_EQ(f.probes, 0);
}

TEST(VmAccel, AVerdictForAnotherKernelOrQemuDoesNotApply) {
  FakeHost f;
  f.key = "kernel-a|qemu-8.2";
  f.outcome = {false, 5000ms};
  EXPECT_EQ(f.decide().accel, Accel::tcg);
  // QEMU (or the kernel) was upgraded: the old "tcg" verdict is stale, the new pair is probed.
  f.key = "kernel-a|qemu-9.0";
  f.outcome = {true, 400ms};
  auto c = f.decide();
  EXPECT_EQ(c.accel, Accel::kvm);
  EXPECT_EQ(c.source, AccelChoice::Source::probe);
  EXPECT_EQ(f.probes, 2);
  auto j = f.cache_json();
  EXPECT_EQ(j["kernel-a|qemu-8.2"]["accel"], "tcg");
  EXPECT_EQ(j["kernel-a|qemu-9.0"]["accel"], "kvm");
}

TEST(VmAccel, AnUnwritableCacheStillDecides) {
  FakeHost f;
  auto h = f.host();
  h.cache_file = f.dir.path() / "missing-dir" / "accel.json";
  auto c = vm::decide_accel(std::nullopt, h);
  EXPECT_EQ(c.accel, Accel::kvm);
  EXPECT_EQ(f.probes, 1);
  c = vm::decide_accel(std::nullopt, h);
  EXPECT_EQ(f.probes, 2) << "nothing was cached, so it probes again";
}
