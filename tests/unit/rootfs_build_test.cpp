// The rootfs builder end to end on synthetic layers: real libarchive tarballs in, a real squashfs out
// (tar2sqfs), read back with sqfs2tar.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "rootfs/build.h"
#include "rootfs_testing.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"

namespace mcpvm::rootfs {
namespace {

using namespace testing;

class RootfsBuild : public ::testing::Test {
 protected:
  // Writes each layer (bottom first) and builds; returns the listing.
  Listing build(const std::vector<std::vector<TarEntry>>& layers, const BuildOptions& options = {}) {
    std::vector<LayerSource> sources = write_layers(layers);
    build_squashfs(sources, out(), options);
    return read_squashfs(out());
  }
  std::vector<LayerSource> write_layers(const std::vector<std::vector<TarEntry>>& layers) {
    std::vector<LayerSource> sources;
    for (const auto& entries : layers) {
      fs::path blob = dir_.path() / fmt::format("layer{}", counter_++);
      write_layer(blob, entries);
      sources.push_back(layer(blob));
    }
    return sources;
  }
  // Expects the build to fail with a message containing `needle` and to leave no output behind.
  void expect_rejected(const std::vector<std::vector<TarEntry>>& layers, const std::string& needle,
                       const BuildOptions& options = {}) {
    std::vector<LayerSource> sources = write_layers(layers);
    try {
      build_squashfs(sources, out(), options);
      ADD_FAILURE() << "build succeeded, expected an error containing: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(out()));
    for (const auto& entry : fs::directory_iterator(out_dir()))
      ADD_FAILURE() << "left behind: " << entry.path();
  }
  fs::path out_dir() {
    fs::create_directories(dir_.path() / "out");
    return dir_.path() / "out";
  }
  fs::path out() { return out_dir() / "image.sqfs"; }

  TempDir dir_;
  int counter_ = 0;
};

TEST_F(RootfsBuild, SingleLayerKeepsEveryAttribute) {
  std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  TarEntry setuid = file("bin/su", "suid", 04755);
  setuid.uid = 0;
  TarEntry owned = file("home/app/data", "x", 0600);
  owned.uid = 1000;
  owned.gid = 2000;
  owned.mtime = 1700000000;
  TarEntry ping = file("bin/ping", "ping");
  ping.xattrs = {{"security.capability", cap}, {"user.note", "hi"}};
  TarEntry fifo{.path = "run/fifo", .type = AE_IFIFO, .perm = 0600};
  TarEntry null{.path = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = makedev(1, 3)};
  TarEntry sda{.path = "dev/sda", .type = AE_IFBLK, .perm = 0660, .gid = 6, .rdev = makedev(8, 0)};
  TarEntry tmp = dir("tmp", 01777);
  TarEntry root = dir("./", 0751);
  root.uid = 3;
  Listing l = build({{root, dir("bin"), setuid, ping, symlink("bin/sh", "/bin/busybox"),
                      symlink("dangling", "../../x"), dir("home"), dir("home/app", 0700), owned, dir("run"),
                      fifo, dir("dev"), null, sda, tmp, hardlink("bin/su2", "bin/su")}});
  EXPECT_EQ(l.at(".").perm, 0751u);
  EXPECT_EQ(l.at(".").uid, 3);
  EXPECT_EQ(l.at("bin/su").perm, 04755u);
  EXPECT_EQ(l.at("bin/su").data, "suid");
  EXPECT_EQ(l.at("bin/ping").xattrs.at("security.capability"), cap);
  EXPECT_EQ(l.at("bin/ping").xattrs.at("user.note"), "hi");
  EXPECT_EQ(l.at("bin/sh").type, AE_IFLNK);
  EXPECT_EQ(l.at("bin/sh").link, "/bin/busybox");
  EXPECT_EQ(l.at("dangling").link, "../../x");  // stored verbatim, resolved only in the guest
  EXPECT_EQ(l.at("home/app/data").uid, 1000);
  EXPECT_EQ(l.at("home/app/data").gid, 2000);
  EXPECT_EQ(l.at("home/app/data").perm, 0600u);
  EXPECT_EQ(l.at("home/app/data").mtime, 1700000000);
  EXPECT_EQ(l.at("home/app").perm, 0700u);
  EXPECT_EQ(l.at("run/fifo").type, AE_IFIFO);
  EXPECT_EQ(l.at("dev/null").type, AE_IFCHR);
  EXPECT_EQ(l.at("dev/null").rdev, makedev(1, 3));
  EXPECT_EQ(l.at("dev/sda").type, AE_IFBLK);
  EXPECT_EQ(l.at("dev/sda").gid, 6);
  EXPECT_EQ(l.at("tmp").perm, 01777u);
  // One inode, two names: sqfs2tar reports the second name as a hard link.
  const Node& a = l.at("bin/su");
  const Node& b = l.at("bin/su2");
  EXPECT_TRUE(a.hardlink == "bin/su2" || b.hardlink == "bin/su") << a.hardlink << " / " << b.hardlink;
  struct stat st;
  ASSERT_EQ(::stat(out().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(RootfsBuild, WhiteoutsHideLowerFilesAndDirectories) {
  Listing l = build(
      {{dir("etc"), file("etc/a", "a"), file("etc/b", "b"), dir("opt"), dir("opt/x"), file("opt/x/f", "f")},
       {whiteout("etc/.wh.a"), whiteout(".wh.opt")},
       {dir("opt"), file("opt/new", "n")}});
  EXPECT_FALSE(l.contains("etc/a"));
  EXPECT_EQ(l.at("etc/b").data, "b");
  EXPECT_FALSE(l.contains("opt/x"));
  EXPECT_FALSE(l.contains("opt/x/f"));
  EXPECT_EQ(l.at("opt/new").data, "n");
  EXPECT_FALSE(l.contains("etc/.wh.a"));
  EXPECT_FALSE(l.contains(".wh.opt"));
}

TEST_F(RootfsBuild, OpaqueDirectoryWhereverTheMarkerSorts) {
  // The marker comes after an entry of its own layer: it must hide only the LOWER layers' contents.
  Listing l = build({{dir("d"), file("d/old", "o"), dir("d/sub"), file("d/sub/x", "x"), file("keep", "k")},
                     {dir("d", 0700), file("d/mine", "m"), whiteout("d/.wh..wh..opq")}});
  EXPECT_FALSE(l.contains("d/old"));
  EXPECT_FALSE(l.contains("d/sub"));
  EXPECT_EQ(l.at("d/mine").data, "m");
  EXPECT_EQ(l.at("d").perm, 0700u);
  EXPECT_EQ(l.at("keep").data, "k");
  EXPECT_FALSE(l.contains("d/.wh..wh..opq"));
}

TEST_F(RootfsBuild, FileAndDirectoryReplaceEachOther) {
  Listing l = build({{dir("a"), file("a/child", "c"), file("b", "file b")},
                     {file("a", "now a file"), dir("b"), file("b/inside", "i")}});
  EXPECT_EQ(l.at("a").type, AE_IFREG);
  EXPECT_EQ(l.at("a").data, "now a file");
  EXPECT_FALSE(l.contains("a/child"));
  EXPECT_EQ(l.at("b").type, AE_IFDIR);
  EXPECT_EQ(l.at("b/inside").data, "i");
}

TEST_F(RootfsBuild, DirectoriesMergeAndTheUpperMetadataWins) {
  TarEntry upper = dir("d", 0750);
  upper.uid = 7;
  Listing l = build({{dir("d", 0755), file("d/low", "l")}, {upper, file("d/up", "u")}});
  EXPECT_EQ(l.at("d").perm, 0750u);
  EXPECT_EQ(l.at("d").uid, 7);
  EXPECT_EQ(l.at("d/low").data, "l");
  EXPECT_EQ(l.at("d/up").data, "u");
}

TEST_F(RootfsBuild, ImplicitParentKeepsTheLowerDirectoryMetadata) {
  Listing l = build({{dir("d", 0711), file("d/low", "l")}, {file("d/up", "u")}});
  EXPECT_EQ(l.at("d").perm, 0711u);
  EXPECT_EQ(l.at("d/up").data, "u");
}

TEST_F(RootfsBuild, UpperFileReplacesLowerAndItsDataIsNotRead) {
  BuildStats stats;
  std::vector<LayerSource> sources =
      write_layers({{file("big", std::string(100000, 'x'))}, {file("big", "small")}});
  stats = build_squashfs(sources, out());
  EXPECT_EQ(read_squashfs(out()).at("big").data, "small");
  EXPECT_EQ(stats.bytes_written, 5u);
}

TEST_F(RootfsBuild, HardLinkToALowerLayer) {
  Listing l = build({{file("orig", "data")}, {hardlink("link", "orig")}});
  EXPECT_EQ(l.at("orig").data, "data");
  EXPECT_EQ(l.at("link").data, "data");
  // One inode with two names: sqfs2tar reports one of them as a hard link to the other.
  EXPECT_TRUE(l.at("link").hardlink == "orig" || l.at("orig").hardlink == "link");
}

TEST_F(RootfsBuild, HardLinkWhoseTargetAnUpperLayerReplacedIsRejected) {
  expect_rejected({{file("orig", "old")}, {hardlink("link", "orig")}, {file("orig", "new")}},
                  "replaced by a layer");
}

TEST_F(RootfsBuild, HardLinkToNothingIsRejected) {
  expect_rejected({{file("a", "a"), hardlink("l", "missing")}}, "not in the image");
}

TEST_F(RootfsBuild, RepeatedDirectoryInOneLayerLastWins) {
  Listing l = build({{dir("d", 0755), file("d/f", "f"), dir("d", 0700)}});
  EXPECT_EQ(l.at("d").perm, 0700u);
}

TEST_F(RootfsBuild, RepeatedFileInOneLayerIsRejected) {
  expect_rejected({{file("f", "one"), file("f", "two")}}, "appears twice in one layer");
}

TEST_F(RootfsBuild, EntryThroughASymlinkOfTheSameLayerIsRejected) {
  expect_rejected({{symlink("etc", "/etc"), file("etc/passwd", "pwned")}},
                  "not a directory in the same layer");
}

TEST_F(RootfsBuild, UpperDirectoryReplacesALowerSymlink) {
  // overlayfs semantics: the upper layer's directory covers the lower symlink; nothing is followed.
  Listing l = build({{symlink("lib", "/usr/lib")}, {file("lib/x", "x")}});
  EXPECT_EQ(l.at("lib").type, AE_IFDIR);
  EXPECT_EQ(l.at("lib/x").data, "x");
}

TEST_F(RootfsBuild, LayerFormatsAndCompressions) {
  std::string long_name = std::string(150, 'n') + "/" + std::string(120, 'm');
  int i = 0;
  std::vector<LayerSource> sources;
  for (auto [c, f] :
       {std::pair{Compression::none, TarFormat::gnu}, std::pair{Compression::gzip, TarFormat::pax},
        std::pair{Compression::zstd, TarFormat::ustar}}) {
    fs::path blob = dir_.path() / fmt::format("fmt{}", i);
    std::vector<TarEntry> entries = {file(fmt::format("f{}", i), fmt::format("content {}", i))};
    if (f != TarFormat::ustar) entries.push_back(file(fmt::format("{}{}", long_name, i), "long"));
    write_layer(blob, entries, c, f);
    sources.push_back(layer(blob));
    ++i;
  }
  build_squashfs(sources, out());
  Listing l = read_squashfs(out());
  EXPECT_EQ(l.at("f0").data, "content 0");
  EXPECT_EQ(l.at("f1").data, "content 1");
  EXPECT_EQ(l.at("f2").data, "content 2");
  EXPECT_EQ(l.at(long_name + "0").data, "long");
  EXPECT_EQ(l.at(long_name + "1").data, "long");
}

TEST_F(RootfsBuild, LayerWithoutEndOfArchiveTrailer) {
  fs::path blob = dir_.path() / "notrailer";
  write_layer(blob, {file("a", "aaa"), file("b", "bbb")}, Compression::none, TarFormat::ustar);
  // Cut the two zero blocks (and libarchive's padding) off: keep headers+data = 4 x 512 bytes.
  fs::resize_file(blob, 4 * 512);
  build_squashfs({layer(blob)}, out());
  Listing l = read_squashfs(out());
  EXPECT_EQ(l.at("a").data, "aaa");
  EXPECT_EQ(l.at("b").data, "bbb");
}

TEST_F(RootfsBuild, SparseFilesFromGnuTarAndPax) {
  fs::path src = dir_.path() / "src";
  fs::create_directories(src);
  {
    AtomicFile f(src / "sparse");
    f.write("head");
    ASSERT_EQ(::lseek(f.fd(), 3 << 20, SEEK_SET), 3 << 20);
    f.write("tail");
    f.commit();
  }
  std::vector<LayerSource> sources;
  for (std::string format : {"gnu", "posix"}) {
    fs::path blob = dir_.path() / ("sparse-" + format);
    CommandResult r =
        run_command({"tar", "--sparse", "--format=" + format, "-C", src.string(), "-cf", blob.string(), "."});
    ASSERT_EQ(r.status.code(), 0) << r.err;
    sources.push_back(layer(blob));
  }
  build_squashfs(sources, out());
  Listing l = read_squashfs(out());
  std::string expected = "head" + std::string((3 << 20) - 4, '\0') + "tail";
  EXPECT_EQ(l.at("sparse").data.size(), expected.size());
  EXPECT_TRUE(l.at("sparse").data == expected);
}

TEST_F(RootfsBuild, NotATarLayerIsRejected) {
  fs::path blob = dir_.path() / "garbage";
  write_file_atomic(blob, std::string(4096, '\x7f') + "this is not a tar");
  try {
    build_squashfs({layer(blob)}, out());
    ADD_FAILURE() << "accepted garbage";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer sha256:garbage"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out()));
}

TEST_F(RootfsBuild, NonLayerMediaTypeIsRejected) {
  std::vector<LayerSource> sources = write_layers({{file("a", "a")}});
  sources[0].media_type = "application/vnd.cncf.helm.chart.content.v1.tar+gzip-nope";
  sources[0].media_type = "application/vnd.oci.image.config.v1+json";
  EXPECT_THROW(build_squashfs(sources, out()), Error);
}

TEST_F(RootfsBuild, EntryLimit) {
  BuildOptions o;
  o.limits.max_entries = 3;
  expect_rejected({{file("a", ""), file("b", "")}, {file("c", ""), file("d", "")}}, "max_entries", o);
}

TEST_F(RootfsBuild, ByteLimit) {
  BuildOptions o;
  o.limits.max_uncompressed_bytes = 1 << 20;
  expect_rejected({{file("a", std::string(2 << 20, 'a'))}}, "max_uncompressed_bytes", o);
}

TEST_F(RootfsBuild, DecompressionBombEvenInAHiddenEntry) {
  BuildOptions o;
  o.limits.ratio_floor_bytes = 1 << 20;
  o.limits.max_ratio = 100;
  // The zeros are shadowed by the upper layer: they are never written, but still decompressed.
  expect_rejected({{file("zeros", std::string(32 << 20, '\0'))}, {file("zeros", "x")}}, "decompression bomb",
                  o);
}

TEST_F(RootfsBuild, ZstdBombWithDefaultLimits) {
  fs::path blob = dir_.path() / "bomb";
  write_layer(blob, {file("zeros", std::string(200 << 20, '\0'))}, Compression::zstd);
  ASSERT_LT(fs::file_size(blob), 200u << 10);  // > 1000:1
  try {
    build_squashfs({layer(blob)}, out());
    ADD_FAILURE() << "bomb accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("decompression bomb"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out()));
}

TEST_F(RootfsBuild, PathLimits) {
  expect_rejected({{file(std::string(300, 'c'), "x")}}, "name component is 300 bytes");
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "d/";
  expect_rejected({{file(deep + "f", "x")}}, "path longer than");
}

TEST_F(RootfsBuild, EscapingPathsAreRejected) {
  expect_rejected({{file("../escape", "x")}}, "'..' would leave the image");
  expect_rejected({{file("a/../../escape", "x")}}, "'..' would leave the image");
  expect_rejected({{file("a", "x"), hardlink("l", "../../etc/passwd")}}, "'..' would leave the image");
}

TEST_F(RootfsBuild, AbsolutePathsAreInsideTheImage) {
  Listing l = build({{file("/etc/abs", "x"), file("//double//slash", "y")}});
  EXPECT_EQ(l.at("etc/abs").data, "x");
  EXPECT_EQ(l.at("double/slash").data, "y");
}

TEST_F(RootfsBuild, ExistingOutputIsReplacedAtomically) {
  write_file_atomic(out(), "old");
  build({{file("a", "a")}});
  EXPECT_EQ(read_squashfs(out()).at("a").data, "a");
  EXPECT_EQ(std::distance(fs::directory_iterator(out_dir()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace mcpvm::rootfs
