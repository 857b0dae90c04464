// Volumes (vm/volume.h): ToolHive's -v syntax, guest path rules, duplicate targets, and what QEMU and the
// guest init are given. Host paths are real directories in a temporary folder (the parser canonicalises).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "util/error.h"
#include "vm/vm.h"
#include "vm/volume.h"

namespace mcpvm::vm {
namespace {

namespace fs = std::filesystem;

class VolumeSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mcpvm-volume-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = fs::canonical(tmpl);
    fs::create_directories(dir / "data" / "sub");
    fs::create_symlink(dir / "data", dir / "link");
    std::ofstream(dir / "file") << "x";
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string error_of(const std::string& spec) {
    try {
      parse_volume_spec(spec, dir);
    } catch (const Error& e) {
      return e.what();
    }
    return "(accepted)";
  }

  fs::path dir;
};

TEST_F(VolumeSpec, ThreeForms) {
  Volume same = parse_volume_spec((dir / "data").string(), "/");
  EXPECT_EQ(same.host, dir / "data");
  EXPECT_EQ(same.guest, (dir / "data").string());
  EXPECT_FALSE(same.read_only);

  Volume mapped = parse_volume_spec((dir / "data").string() + ":/srv/data", "/");
  EXPECT_EQ(mapped.guest, "/srv/data");
  EXPECT_FALSE(mapped.read_only);

  Volume ro = parse_volume_spec((dir / "data").string() + ":/srv/data:ro", "/");
  EXPECT_TRUE(ro.read_only);
}

TEST_F(VolumeSpec, RelativeHostPathsAreTakenAgainstTheCallersDirectoryAndCanonicalised) {
  Volume v = parse_volume_spec("./data/sub/..:/d", dir);
  EXPECT_EQ(v.host, dir / "data");
  Volume through_link = parse_volume_spec("link:/d:ro", dir);
  EXPECT_EQ(through_link.host, dir / "data");  // resolved once, at `run`
  Volume single = parse_volume_spec("data", dir);
  EXPECT_EQ(single.guest, (dir / "data").string());
}

TEST_F(VolumeSpec, GuestPathsAreNormalised) {
  EXPECT_EQ(parse_volume_spec("data://srv/./data//", dir).guest, "/srv/data");
}

TEST_F(VolumeSpec, BadSpecsAreRefusedWithOneLine) {
  EXPECT_NE(error_of("nope:/d").find("it must exist"), std::string::npos) << error_of("nope:/d");
  EXPECT_NE(error_of("file:/d").find("is not a directory"), std::string::npos);
  for (const char* junk : {"data:/d:rw:ro", "data:/d:rw", "data:/d:RO", "data:/d:", "data:/d:ro:ro"})
    EXPECT_NE(error_of(junk).find("expected PATH, HOST:GUEST or HOST:GUEST:ro"), std::string::npos) << junk;
  EXPECT_NE(error_of("data:d").find("must be absolute"), std::string::npos);
  EXPECT_NE(error_of(":/d").find("host path is empty"), std::string::npos);
  EXPECT_NE(error_of("data:/a/../etc").find("'..'"), std::string::npos);
  for (const char* over : {"data:/", "data:/proc", "data:/proc/x", "data:/sys", "data:/dev/shm",
                           "data:/mcpvm", "data:/mcpvm/modules", "data://proc/"})
    EXPECT_NE(error_of(over).find("is not allowed"), std::string::npos) << over;
  EXPECT_EQ(error_of("data:/procfs"), "(accepted)");  // only the directories themselves and below
  EXPECT_EQ(error_of("data:/devices"), "(accepted)");
  for (const char* spec : {"nope:/d", "data:/d:rw:ro", "data:/proc"})
    EXPECT_EQ(error_of(spec).find('\n'), std::string::npos) << spec;
}

// procfs has no user.* xattrs: what mapped-xattr stores for the guest's files cannot be kept there.
TEST_F(VolumeSpec, AWritableVolumeNeedsUserXattrs) {
  EXPECT_NE(error_of("/proc:/d").find("does not support user extended attributes"), std::string::npos)
      << error_of("/proc:/d");
  EXPECT_EQ(error_of("/proc:/d:ro"), "(accepted)");  // read-only: nothing is stored
}

TEST_F(VolumeSpec, DuplicateTargetsWriteUpgradesRead) {
  std::vector<Volume> v;
  add_volume(v, parse_volume_spec("data:/d:ro", dir));
  add_volume(v, parse_volume_spec("data:/d", dir));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].read_only);
  add_volume(v, parse_volume_spec("data:/d:ro", dir));  // a later read does not downgrade
  EXPECT_FALSE(v[0].read_only);
  EXPECT_THROW(add_volume(v, parse_volume_spec("data/sub:/d", dir)), Error);  // another host dir, same target
  add_volume(v, parse_volume_spec("data/sub:/d/sub:ro", dir));                // nested is fine
  EXPECT_EQ(v.size(), 2u);
}

TEST(VolumeQemu, ReadOnlyIsEnforcedByQemuAndTheGuestMountsParentsFirst) {
  VmSpec spec;
  spec.kernel.kernel = "/k/vmlinux";
  spec.volumes = {{"/h/out,x", "/out/nested", false}, {"/h/data", "/out", true}};
  auto argv = qemu_argv(spec, "console=ttyS0");
  auto has = [&](const std::string& s) { return std::find(argv.begin(), argv.end(), s) != argv.end(); };
  // Commas in paths are doubled (QEMU's option syntax); mapped-xattr for both; readonly=on only for ro.
  EXPECT_TRUE(has("local,id=vol0,path=/h/out,,x,security_model=mapped-xattr,multidevs=remap"));
  EXPECT_TRUE(has("local,id=vol1,path=/h/data,security_model=mapped-xattr,multidevs=remap,readonly=on"));
  EXPECT_TRUE(has("virtio-9p-device,fsdev=vol0,mount_tag=mcpvm0"));
  EXPECT_TRUE(has("virtio-9p-device,fsdev=vol1,mount_tag=mcpvm1"));

  auto mounts = guest_mounts(spec.volumes);
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].path, "/out");
  EXPECT_EQ(mounts[0].tag, "mcpvm1");
  EXPECT_TRUE(mounts[0].read_only);
  EXPECT_EQ(mounts[1].path, "/out/nested");
  EXPECT_NE(mounts[1].options.find("trans=virtio"), std::string::npos);
  EXPECT_NE(volume_enforcement(spec.volumes[1]).find("readonly=on"), std::string::npos);
  EXPECT_NE(volume_enforcement(spec.volumes[1]).find("MS_RDONLY"), std::string::npos);
}

TEST(VolumeQemu, NoVolumesNoNinePDevice) {
  VmSpec spec;
  spec.kernel.kernel = "/k/vmlinux";
  for (const auto& a : qemu_argv(spec, "")) EXPECT_EQ(a.find("9p"), std::string::npos) << a;
}

TEST(VolumeGuestConfig, MountsCrossTheInitramfsJson) {
  guest::GuestConfig c;
  c.mounts = {{"mcpvm0", "/data", true, "trans=virtio"}};
  guest::GuestConfig back = nlohmann::json(c).get<guest::GuestConfig>();
  ASSERT_EQ(back.mounts.size(), 1u);
  EXPECT_EQ(back.mounts[0].tag, "mcpvm0");
  EXPECT_EQ(back.mounts[0].path, "/data");
  EXPECT_TRUE(back.mounts[0].read_only);
  EXPECT_EQ(back.mounts[0].options, "trans=virtio");
  EXPECT_FALSE(nlohmann::json(guest::GuestConfig{}).contains("mounts"));  // no volumes: as before
}

}  // namespace
}  // namespace mcpvm::vm
