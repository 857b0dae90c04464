#include <gtest/gtest.h>

#include "util/error.h"
#include "util/fs.h"
#include "vm/kernel.h"

using namespace mcpvm;

namespace {
const char* kDep =
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
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
  EXPECT_EQ(names, (std::vector<std::string>{"virtio_ring", "virtio", "virtio_mmio", "failover", "net_failover",
                                             "virtio_net"}));
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
