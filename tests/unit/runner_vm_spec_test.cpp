#include <gtest/gtest.h>

#include "runner/vm_spec_json.h"
#include "util/error.h"

namespace mcpvm::runner {
namespace {

// The runner rebuilds the VM from this JSON on every start (also after a host reboot): every field the
// CLI chose must survive the trip.
TEST(VmSpecJson, RoundTripKeepsWhatTheCliChose) {
  vm::VmSpec spec;
  spec.kernel.kernel = "/k/vmlinux";
  spec.kernel.modules_dir = "/k/lib/modules/6.1";
  spec.rootfs = "/r/image.sqfs";
  spec.cpus = 2;
  spec.memory_mib = 384;
  spec.accel = vm::Accel::kvm;
  spec.tcg_tb_mib = 48;
  spec.extra_cmdline = "initcall_debug";
  spec.guest.argv = {"/srv", "--flag"};
  spec.boot_timeout = std::chrono::milliseconds(4500);
  vm::VmSpec back = spec_from_json(nlohmann::json::parse(spec_to_json(spec).dump()));
  EXPECT_EQ(back.kernel.kernel, spec.kernel.kernel);
  EXPECT_EQ(back.kernel.modules_dir, spec.kernel.modules_dir);
  EXPECT_EQ(back.rootfs, spec.rootfs);
  EXPECT_EQ(back.cpus, 2u);
  EXPECT_EQ(back.memory_mib, 384u);
  EXPECT_EQ(back.accel, vm::Accel::kvm);
  EXPECT_EQ(back.tcg_tb_mib, 48u);
  EXPECT_EQ(back.extra_cmdline, "initcall_debug");
  EXPECT_EQ(back.guest.argv, spec.guest.argv);
  EXPECT_EQ(back.boot_timeout, spec.boot_timeout);
}

TEST(VmSpecJson, SpecsSavedBeforeANewFieldStillLoad) {
  vm::VmSpec spec;
  spec.kernel.kernel = "/k/vmlinux";
  spec.rootfs = "/r/image.sqfs";
  spec.guest.argv = {"/srv"};
  nlohmann::json j = spec_to_json(spec);
  j.erase("tcg_tb_mib");
  EXPECT_EQ(spec_from_json(j).tcg_tb_mib, vm::VmSpec{}.tcg_tb_mib);
}

TEST(VmSpecJson, RejectsWhatCannotBeBooted) {
  EXPECT_THROW(spec_from_json(nlohmann::json::array()), Error);
  nlohmann::json j = spec_to_json(vm::VmSpec{});
  EXPECT_THROW(spec_from_json(j), Error) << "empty guest command";
  j["guest"]["argv"] = {"/srv"};
  j["accel"] = "hvf";
  EXPECT_THROW(spec_from_json(j), Error);
}

}  // namespace
}  // namespace mcpvm::runner
