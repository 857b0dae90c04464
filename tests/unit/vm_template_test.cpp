// Warm-start templates without QEMU: the key changes with every input, the machine shape ignores what
// differs per VM, content hashes follow file contents, and the QEMU arguments of both sides.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "util/fs.h"
#include "vm/template.h"
#include "vm/template_key.h"
#include "vm/vm.h"

namespace mcpvm::vm {
namespace {

bool has_pair(const std::vector<std::string>& argv, const std::string& flag, const std::string& value) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag && argv[i + 1] == value) return true;
  return false;
}

TemplateInputs sample_inputs() {
  TemplateInputs in;
  in.kernel_sha256 = "k";
  in.init_sha256 = "i";
  in.modules = {{"virtio_mmio", "m1"}, {"deferred", "virtio_blk.ko"}};
  in.qemu_sha256 = "q";
  in.qemu_version = "QEMU emulator version 10.0.2";
  in.machine = "shape";
  in.kernel_cmdline = "console=ttyS0";
  in.memory_mib = 512;
  in.cpus = 1;
  return in;
}

TEST(TemplateKey, ChangesWithEveryInput) {
  const std::string base = template_key(sample_inputs());
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(template_key(sample_inputs()), base);
  std::vector<std::function<void(TemplateInputs&)>> changes = {
      [](auto& in) { in.format++; },
      [](auto& in) { in.kernel_sha256 = "k2"; },
      [](auto& in) { in.init_sha256 = "i2"; },
      [](auto& in) { in.modules[0].second = "m2"; },
      [](auto& in) { in.modules.pop_back(); },
      [](auto& in) { in.qemu_sha256 = "q2"; },
      [](auto& in) { in.qemu_version = "QEMU emulator version 7.2.22"; },
      [](auto& in) { in.machine = "shape2"; },
      [](auto& in) { in.kernel_cmdline += " tsc_early_khz=1"; },
      [](auto& in) { in.memory_mib = 256; },
      [](auto& in) { in.cpus = 2; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    TemplateInputs in = sample_inputs();
    changes[i](in);
    EXPECT_NE(template_key(in), base) << "change " << i;
  }
}

VmSpec sample_spec() {
  VmSpec spec;
  spec.kernel.kernel = "/k/vmlinux";
  spec.rootfs = "/images/a.sqfs";
  spec.console_fd = 5;
  spec.owner_tag = "/home/vms/one";
  spec.network_fd = 17;
  return spec;
}

TEST(TemplateShape, IgnoresPerVmPathsAndFds) {
  VmSpec a = sample_spec(), b = sample_spec();
  b.rootfs = "/images/b.sqfs";
  b.console_fd = -1;
  b.console_log = "/tmp/console.log";
  b.owner_tag = "/home/vms/two";
  b.network_fd = 33;
  b.guest.hostname = "other";
  b.guest.argv = {"/other"};
  EXPECT_EQ(machine_shape(a), machine_shape(b));
}

TEST(TemplateShape, FollowsTheMachine) {
  const std::string base = machine_shape(sample_spec());
  VmSpec s = sample_spec();
  s.network_fd = -1;
  EXPECT_NE(machine_shape(s), base) << "no network device";
  s = sample_spec();
  s.memory_mib = 1024;
  EXPECT_NE(machine_shape(s), base);
  s = sample_spec();
  s.cpus = 2;
  EXPECT_NE(machine_shape(s), base);
  s = sample_spec();
  s.tcg_tb_mib = 64;
  EXPECT_NE(machine_shape(s), base);
}

TEST(TemplateSupport, ColdForWhatTemplatesDoNotCover) {
  VmSpec s = sample_spec();
  s.kernel.modules_dir = "/k/lib/modules/6.1";
  EXPECT_FALSE(warm_start_unsupported(s));
  VmSpec probe = s;
  probe.guest.probe = true;
  EXPECT_TRUE(warm_start_unsupported(probe));
  VmSpec volumes = s;
  volumes.volumes.push_back({});
  EXPECT_TRUE(warm_start_unsupported(volumes));
  VmSpec builtin = s;
  builtin.kernel.modules_dir.clear();
  EXPECT_TRUE(warm_start_unsupported(builtin)) << "virtio_blk built in would probe the placeholder";
}

TEST(TemplateQemuArgs, TemplateSharesItsRamRestoreMapsItPrivate) {
  VmSpec spec = sample_spec();
  spec.memory_mib = 256;
  WarmLaunch save{"/t/ram", true, false, "/t/initrd"};
  auto a = qemu_argv(spec, "c", QemuFds{}, &save);
  EXPECT_TRUE(has_pair(a, "-M", "microvm,x-option-roms=off,memory-backend=mem"));
  EXPECT_TRUE(has_pair(a, "-object", "memory-backend-file,id=mem,size=256M,mem-path=/t/ram,share=on"));
  EXPECT_TRUE(has_pair(a, "-initrd", "/t/initrd"));
  EXPECT_TRUE(has_pair(a, "-mon", "chardev=qmp,mode=control"));
  EXPECT_TRUE(has_pair(a, "-chardev", "socket,id=qmp,fd=10"));
  EXPECT_EQ(std::find(a.begin(), a.end(), "-incoming"), a.end());
  WarmLaunch restore{"/t/r,am", false, true, "/t/initrd"};
  auto b = qemu_argv(spec, "c", QemuFds{}, &restore);
  EXPECT_TRUE(has_pair(b, "-object", "memory-backend-file,id=mem,size=256M,mem-path=/t/r,,am,share=off"));
  EXPECT_TRUE(has_pair(b, "-incoming", "defer"));
  auto cold = qemu_argv(spec, "c");
  EXPECT_EQ(std::find(cold.begin(), cold.end(), "-object"), cold.end());
}

TEST(TemplateKey, FileHashFollowsContentsNotNames) {
  TempDir dir;
  fs::path f = dir.path() / "kernel", memo = dir.path() / "memo";
  write_file_atomic(f, "one");
  std::string h1 = file_sha256_memoized(f, memo);
  EXPECT_EQ(h1, file_sha256_memoized(f, memo));
  EXPECT_EQ(h1, "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed");  // sha256("one")
  write_file_atomic(f, "two");  // a new inode and mtime: a new stat identity
  EXPECT_NE(file_sha256_memoized(f, memo), h1);
}

}  // namespace
}  // namespace mcpvm::vm
