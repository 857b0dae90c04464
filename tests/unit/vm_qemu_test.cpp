#include <gtest/gtest.h>

#include <algorithm>

#include "vm/vm.h"

using namespace mcpvm;

namespace {
bool has_pair(const std::vector<std::string>& argv, const std::string& flag, const std::string& value) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag && argv[i + 1] == value) return true;
  return false;
}
bool has(const std::vector<std::string>& argv, const std::string& s) {
  return std::find(argv.begin(), argv.end(), s) != argv.end();
}
}  // namespace

TEST(VmQemu, MicrovmWithReadOnlyRootAndFourPorts) {
  vm::VmSpec spec;
  spec.kernel.kernel = "/k/vmlinux";
  spec.rootfs = "/r/image.sqfs";
  spec.cpus = 2;
  spec.memory_mib = 768;
  spec.console_log = "/l/console.log";
  auto argv = vm::qemu_argv(spec, "console=ttyS0");
  EXPECT_EQ(argv[0], "qemu-system-x86_64");
  EXPECT_TRUE(has_pair(argv, "-M", "microvm,x-option-roms=off"));
  EXPECT_TRUE(has_pair(argv, "-bios", "qboot.rom"))
      << "QEMU 10's default microvm firmware cannot boot -kernel";
  for (const char* f : {"-nodefaults", "-no-user-config", "-no-reboot"}) EXPECT_TRUE(has(argv, f)) << f;
  EXPECT_TRUE(has_pair(argv, "-accel", "tcg"));
  EXPECT_TRUE(has_pair(argv, "-smp", "2"));
  EXPECT_TRUE(has_pair(argv, "-m", "768"));
  EXPECT_TRUE(has_pair(argv, "-drive", "id=root,file=/r/image.sqfs,format=raw,if=none,readonly=on"));
  EXPECT_TRUE(has_pair(argv, "-initrd", "/dev/fd/7"));
  EXPECT_TRUE(has_pair(argv, "-device", "virtserialport,chardev=port0,name=mcpvm.ctl"));
  EXPECT_TRUE(has_pair(argv, "-device", "virtserialport,chardev=port3,name=mcpvm.stderr"));
  EXPECT_TRUE(has_pair(argv, "-chardev", "socket,id=port1,fd=4"));
  EXPECT_FALSE(has(argv, "-netdev"));
  EXPECT_TRUE(
      has_pair(argv, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
}

TEST(VmQemu, TcgCodeCacheSizeOnlyUnderTcg) {
  vm::VmSpec spec;
  spec.tcg_tb_mib = 24;
  EXPECT_TRUE(has_pair(vm::qemu_argv(spec, ""), "-accel", "tcg,tb-size=24"));
  spec.tcg_tb_mib = 0;
  EXPECT_TRUE(has_pair(vm::qemu_argv(spec, ""), "-accel", "tcg")) << "0: QEMU's own default";
  spec.tcg_tb_mib = 24;
  spec.accel = vm::Accel::kvm;
  EXPECT_TRUE(has_pair(vm::qemu_argv(spec, ""), "-accel", "kvm"));
}

TEST(VmQemu, NetworkFdAddsVirtioNet) {
  vm::VmSpec spec;
  spec.network_fd = 42;
  spec.accel = vm::Accel::kvm;
  auto argv = vm::qemu_argv(spec, "");
  EXPECT_TRUE(has_pair(argv, "-netdev", "socket,id=net0,fd=8"));
  EXPECT_TRUE(has_pair(argv, "-device", "virtio-net-device,netdev=net0"));
  EXPECT_TRUE(has_pair(argv, "-cpu", "host"));
}

TEST(VmQemu, CommandLineCarriesThePitfallFixes) {
  vm::VmSpec spec;
  std::string c = vm::kernel_cmdline(spec, 2400000);
  for (const char* p :
       {"reboot=t", "panic=-1", "tsc_early_khz=2400000", "console=ttyS0", "cryptomgr.notests"})
    EXPECT_NE(c.find(p), std::string::npos) << p;
  EXPECT_EQ(c.find("acpi=off"), std::string::npos);
}

TEST(VmQemu, TscMeasurementIsPlausible) {
  uint64_t khz = vm::measure_tsc_khz(std::chrono::milliseconds(10));
  EXPECT_GT(khz, 100'000u);     // > 100 MHz
  EXPECT_LT(khz, 10'000'000u);  // < 10 GHz
}

TEST(VmQemu, ConsoleToASocketForTheRunnersCappedLog) {
  vm::VmSpec spec;
  spec.console_log = "/v/vms/a,b/logs/console.log";  // only named in messages: QEMU gets the socket
  spec.console_fd = 17;
  spec.owner_tag = "/v/vms/a,b/";
  auto argv = vm::qemu_argv(spec, "");
  EXPECT_TRUE(has_pair(argv, "-chardev", "socket,id=console,fd=9"));
  EXPECT_TRUE(has_pair(argv, "-serial", "chardev:console"));
  EXPECT_TRUE(has_pair(argv, "-name", "/v/vms/a,,b/")) << "commas doubled for QEMU's option parser";
  for (auto& a : argv) EXPECT_EQ(a.find("file,id=console"), std::string::npos) << a;
}

TEST(VmQemu, ConsoleFileWhenNoSocketAndNullWhenNeither) {
  vm::VmSpec spec;
  spec.console_log = "/l/console.log";
  EXPECT_TRUE(has_pair(vm::qemu_argv(spec, ""), "-chardev", "file,id=console,path=/l/console.log"));
  EXPECT_FALSE(has(vm::qemu_argv(spec, ""), "-name"));
  spec.console_log.clear();
  EXPECT_TRUE(has_pair(vm::qemu_argv(spec, ""), "-serial", "null"));
}
