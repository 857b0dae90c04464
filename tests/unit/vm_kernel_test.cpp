#include <gtest/gtest.h>

#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"
#include "vm/kernel.h"

using namespace mcpvm;

namespace {
const char* kDep =
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko "
    "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
    "kernel/net/core/failover.ko:\n"
    "kernel/fs/xz_thing.ko.xz:\n"
    "garbage line\n"
    ": also garbage\n";
}

TEST(VmKernel, ResolvesDependenciesFirstAndOnce) {
  TempDir dir;
  write_file_atomic(dir.path() / "modules.dep", kDep);
  write_file_atomic(dir.path() / "modules.builtin", "kernel/fs/overlayfs/overlay.ko\n");
  auto mods = vm::resolve_modules(dir.path(), {"virtio_mmio", "virtio-net", "overlay"});
  std::vector<std::string> names;
  for (auto& m : mods) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"virtio_ring", "virtio", "virtio_mmio", "failover",
                                             "net_failover", "virtio_net"}));
  EXPECT_EQ(mods[2].path, dir.path() / "kernel/drivers/virtio/virtio_mmio.ko");
}

TEST(VmKernel, UnknownAndCompressedModulesAreErrors) {
  TempDir dir;
  write_file_atomic(dir.path() / "modules.dep", kDep);
  EXPECT_THROW(vm::resolve_modules(dir.path(), {"nosuch"}), Error);
  EXPECT_THROW(vm::resolve_modules(dir.path(), {"xz_thing"}), Error);
}

TEST(VmKernel, ParseSkipsMalformedLines) {
  auto entries = vm::parse_modules_dep(kDep);
  EXPECT_EQ(entries.size(), 7u);
  EXPECT_EQ(entries[3].deps.size(), 4u);
}

TEST(VmKernel, KernelOverrideMustExist) {
  EXPECT_THROW(vm::find_kernel(std::filesystem::path("/nonexistent/vmlinux")), Error);
}

// The layout scripts/build-kernel.sh installs: DIR/vmlinux beside lib/modules/<version> with an empty
// modules.dep and every driver in modules.builtin. MCPVM_KERNEL=DIR/vmlinux alone must boot it with no
// module to load.
TEST(VmKernel, BuiltinOnlyKernelBesideItsModulesDir) {
  TempDir dir;
  std::filesystem::path mods = dir.path() / "lib/modules/6.1.192-mcpvm";
  std::filesystem::create_directories(mods);
  write_file_atomic(dir.path() / "vmlinux", "ELF");
  write_file_atomic(mods / "modules.dep", "");
  write_file_atomic(mods / "modules.builtin",
                    "kernel/drivers/virtio/virtio_mmio.ko\nkernel/drivers/block/virtio_blk.ko\n"
                    "kernel/drivers/char/virtio_console.ko\nkernel/fs/squashfs/squashfs.ko\n"
                    "kernel/fs/overlayfs/overlay.ko\nkernel/drivers/net/virtio_net.ko\n");
  unsetenv("MCPVM_KERNEL_MODULES");
  auto k = vm::find_kernel(dir.path() / "vmlinux");
  EXPECT_EQ(k.modules_dir, mods);
  EXPECT_EQ(k.version, "6.1.192-mcpvm");
  std::vector<std::string> wanted = vm::base_modules();
  wanted.insert(wanted.end(), vm::network_modules().begin(), vm::network_modules().end());
  EXPECT_TRUE(vm::resolve_modules(k.modules_dir, wanted).empty());
  // A driver missing from modules.builtin is still an error, not silently skipped.
  EXPECT_THROW(vm::resolve_modules(k.modules_dir, {"virtio_balloon"}), Error);
}
