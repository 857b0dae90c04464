#include <gtest/gtest.h>

#include <filesystem>

#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"
#include "vm/initramfs.h"

using namespace mcpvm;

// The archive is checked with the real cpio tool, not with our own reader.
TEST(VmInitramfs, CpioToolListsAndExtractsEntries) {
  vm::CpioWriter w;
  w.add_directory("dir");
  w.add_file("dir/a.txt", "hello", 0640);
  w.add_file("odd", std::string("x\0y", 3), 0755);
  w.add_file("empty", "");
  TempDir tmp;
  write_file_atomic(tmp.path() / "a.cpio", w.finish());
  auto list =
      run_command({"sh", "-c", "cpio -it --quiet < a.cpio"}, std::chrono::seconds(20), {.cwd = tmp.path()});
  ASSERT_TRUE(list.status.exited() && list.status.code() == 0) << list.err;
  EXPECT_EQ(list.out, "dir\ndir/a.txt\nodd\nempty\n");
  auto x = run_command({"sh", "-c", "mkdir out && cd out && cpio -id --quiet < ../a.cpio"},
                       std::chrono::seconds(20), {.cwd = tmp.path()});
  ASSERT_EQ(x.status.code(), 0) << x.err;
  EXPECT_EQ(read_file(tmp.path() / "out/dir/a.txt"), "hello");
  EXPECT_EQ(read_file(tmp.path() / "out/odd"), std::string("x\0y", 3));
  EXPECT_EQ(std::filesystem::status(tmp.path() / "out/odd").permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0755));
}

TEST(VmInitramfs, RejectsAbsolutePaths) {
  vm::CpioWriter w;
  EXPECT_THROW(w.add_file("/init", "x"), Error);
}

TEST(VmInitramfs, HoldsInitModulesAndConfig) {
  TempDir tmp;
  write_file_atomic(tmp.path() / "init", "#!init");
  write_file_atomic(tmp.path() / "m.ko", "module-bytes");
  guest::GuestConfig config;
  config.argv = {"/bin/echo", "hi"};
  std::string archive = vm::build_initramfs(tmp.path() / "init", {{"virtio_x", tmp.path() / "m.ko"}}, config);
  write_file_atomic(tmp.path() / "i.cpio", archive);
  auto x =
      run_command({"sh", "-c", "mkdir out && cd out && cpio -id --quiet < ../i.cpio && ls -l dev/console"},
                  std::chrono::seconds(20), {.cwd = tmp.path()});
  ASSERT_EQ(x.status.code(), 0) << x.err;
  EXPECT_EQ(x.out.substr(0, 1), "c");
  EXPECT_EQ(read_file(tmp.path() / "out/init"), "#!init");
  EXPECT_EQ(read_file(tmp.path() / "out/mcpvm/modules/virtio_x.ko"), "module-bytes");
  auto parsed =
      nlohmann::json::parse(read_file(tmp.path() / "out/mcpvm/config.json")).get<guest::GuestConfig>();
  EXPECT_EQ(parsed.argv, config.argv);
  EXPECT_EQ(parsed.modules, std::vector<std::string>{"virtio_x.ko"});
}
