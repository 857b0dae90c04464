// Oracle for the rootfs builder on real OCI images: the squashfs mcpvm builds from the image store must
// hold exactly the tree `umoci unpack` (as root) produces from the same OCI layout: path, type, mode,
// uid, gid, size, link target, content hash, device numbers, xattrs, mtimes and hard-link groups.
// Also: the cache (second build = nothing to do) and concurrent builders of one digest.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "oci/import.h"
#include "oci/store.h"
#include "rootfs/ensure.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"

namespace mcpvm::rootfs {
namespace {

const fs::path kSource = MCPVM_SOURCE_DIR;

void run(const std::vector<std::string>& argv, const fs::path& cwd = {}) {
  SpawnOptions o;
  o.cwd = cwd.string();
  CommandResult r = run_command(argv, std::chrono::minutes(5), o);
  if (r.status.code() != 0) fail("{} failed ({}): {}{}", join_argv(argv), r.status.describe(), r.out, r.err);
}

class RootfsOracle : public ::testing::Test {
 protected:
  fs::path path(const std::string& name) const { return dir_.path() / name; }

  // Imports the layout's `tag` into a fresh store, builds the rootfs, and compares it with umoci's unpack.
  void expect_same_as_umoci(const std::string& tag) {
    oci::Store store(path("home"));
    oci::ImportOptions options;
    options.tag = tag;
    std::vector<oci::Image> images = oci::import_image(store, path("layout"), options);
    ASSERT_EQ(images.size(), 1u);
    oci::Image image = store.resolve(tag);
    bool built = false;
    fs::path sqfs = ensure_rootfs(store, image, path("home"), {}, &built);
    EXPECT_TRUE(built);
    EXPECT_EQ(sqfs, store.rootfs_path(image.manifest_digest));  // the path `images`, `rmi` and `run` use

    run({"unsquashfs", "-quiet", "-no-progress", "-d", path("ours").string(), sqfs.string()});
    run({"umoci", "unpack", "--image", path("layout").string() + ":" + tag, path("bundle").string()});
    CommandResult diff = run_command({"python3", (kSource / "tests/integration/rootfs_tree.py").string(),
                                      "compare", path("ours").string(), path("bundle/rootfs").string()});
    EXPECT_EQ(diff.status.code(), 0) << diff.out << diff.err;
    std::cerr << diff.out;

    // A second VM of the same image: the cache answers, nothing is rebuilt (same file, same inode).
    auto inode_of = [](const fs::path& p) {
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) fail_errno("stat {}", p.string());
      return st.st_ino;
    };
    auto first_inode = inode_of(sqfs);
    fs::path again = ensure_rootfs(store, image, path("home"), {}, &built);
    EXPECT_FALSE(built);
    EXPECT_EQ(again, sqfs);
    EXPECT_EQ(inode_of(again), first_inode);
  }

  TempDir dir_;
};

TEST_F(RootfsOracle, BusyboxImage) {
  run({"bash", (kSource / "tests/fixtures/make-busybox-rootfs.sh").string(), path("bb").string()});
  run({"bash", (kSource / "tests/fixtures/make-oci-image.sh").string(), path("layout").string(), "busybox:1",
       "--layer", path("bb").string(), "--entrypoint", R"(["/bin/sh"])"});
  expect_same_as_umoci("busybox:1");
}

// The ~100 MB node MCP server image of DESIGN.md: a real-world tree (node, its shared libraries, ~1,500
// files of node_modules) rather than a hand-made one.
TEST_F(RootfsOracle, NodeMcpServerImage) {
  run({"bash", (kSource / "tests/fixtures/make-node-mcp-image.sh").string(), path("layout").string(),
       "node-mcp:1"});
  expect_same_as_umoci("node-mcp:1");
}

// busybox + a PAX layer with every special attribute + a layer of whiteouts, an opaque directory whose
// marker sorts after a sibling, file<->directory replacement + an uncompressed GNU-format layer.
TEST_F(RootfsOracle, MultiLayerImageWithWhiteouts) {
  fs::path layers = path("layers");
  run({"bash", (kSource / "tests/fixtures/make-busybox-rootfs.sh").string(), path("bb").string()});
  run({"python3", (kSource / "tests/integration/rootfs_tree.py").string(), "layers", layers.string()});
  run({"bash", (kSource / "tests/fixtures/make-oci-image.sh").string(), path("layout").string(), "multi:1",
       "--layer", path("bb").string(), "--layer-tar", (layers / "layer2.tar").string(), "--layer-tar",
       (layers / "layer3.tar").string(), "--media", "application/vnd.oci.image.layer.v1.tar", "--layer-raw",
       (layers / "layer4.tar").string()});
  expect_same_as_umoci("multi:1");
}

TEST_F(RootfsOracle, ConcurrentBuildersOfOneDigestEndWithOneFile) {
  run({"bash", (kSource / "tests/fixtures/make-busybox-rootfs.sh").string(), path("bb").string()});
  run({"bash", (kSource / "tests/fixtures/make-oci-image.sh").string(), path("layout").string(), "busybox:1",
       "--layer", path("bb").string()});
  oci::Store store(path("home"));
  oci::ImportOptions options;
  options.tag = "busybox:1";
  oci::import_image(store, path("layout"), options);
  oci::Image image = store.resolve("busybox:1");
  std::atomic<int> builds = 0;
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      try {
        bool built = false;
        ensure_rootfs(store, image, path("home"), {}, &built);
        if (built) ++builds;
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(builds.load(), 1);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path("home/rootfs")))
    if (!entry.path().filename().string().ends_with(".lock"))
      files.push_back(entry.path().filename().string());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(path("home/rootfs") / files[0], store.rootfs_path(image.manifest_digest));
}

}  // namespace
}  // namespace mcpvm::rootfs
