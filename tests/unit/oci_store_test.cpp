// The content-addressed store: verified blob writes, refs, resolution, removal and garbage collection.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/reference.h"
#include "oci/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

using mcpvm::Error;
using mcpvm::Sha256;
using mcpvm::TempDir;
using namespace mcpvm::oci;
namespace fs = std::filesystem;

namespace {

std::string digest_of(std::string_view data) {
  return "sha256:" + Sha256::hex(data);
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Puts a one-layer image into the store and returns its manifest digest.
std::string add_image(const Store& store, const std::string& layer, const std::string& ref) {
  std::string config =
      R"({"architecture":"amd64","os":"linux","config":{"Cmd":["run"]},"rootfs":{"diff_ids":[]}})";
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                      {"config",
                       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", digest_of(config)},
                        {"size", config.size()}}},
                      {"layers",
                       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                         {"digest", digest_of(layer)},
                         {"size", layer.size()}}}}};
  std::string manifest = m.dump();
  store.put_blob(digest_of(config), config);
  store.put_blob(digest_of(layer), layer);
  store.put_blob(digest_of(manifest), manifest);
  store.set_ref(ref, digest_of(manifest));
  return digest_of(manifest);
}

TEST(OciStore, BlobWriterVerifies) {
  TempDir home;
  Store store(home.path());
  std::string data = "hello layer";
  {
    BlobWriter w = store.begin_blob(digest_of(data), int64_t(data.size()));
    w.write(data);
    w.commit();
  }
  EXPECT_TRUE(store.has_blob(digest_of(data)));
  EXPECT_EQ(mcpvm::read_file(store.blob_path(digest_of(data))), data);
  EXPECT_EQ(fs::status(store.blob_path(digest_of(data))).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  std::string other = "other bytes";
  EXPECT_EQ(message_of([&] {
              BlobWriter w = store.begin_blob(digest_of(data), int64_t(other.size()));
              w.write(other);
              w.commit();
            }),
            "does not match its digest");
  EXPECT_EQ(message_of([&] {
              BlobWriter w = store.begin_blob(digest_of(other), int64_t(other.size()));
              w.write(other.substr(0, 3));
              w.commit();
            }),
            "is truncated: got 3 of 11 bytes");
  EXPECT_EQ(message_of([&] {
              BlobWriter w = store.begin_blob(digest_of(other), 4);
              w.write(other);
            }),
            "is larger than the 4 bytes its descriptor says");
  // Nothing but the one verified blob: no temp files, no wrong content under a digest.
  EXPECT_EQ(files_in(store.blob_dir()), std::vector<std::string>{digest_of(data).substr(7)});
  EXPECT_FALSE(store.has_blob(digest_of(other)));
  EXPECT_THROW(store.blob_path(digest_of(other)), Error);
  EXPECT_THROW(store.blob_path("sha256:../../etc/passwd"), Error);
}

TEST(OciStore, RefsAndResolve) {
  TempDir home;
  Store store(home.path());
  EXPECT_EQ(message_of([&] { store.resolve("busybox"); }),
            "image busybox not found: pull or import it first");
  std::string d = add_image(store, "layer-a", "docker.io/library/busybox:latest");
  EXPECT_EQ(store.resolve("busybox").manifest_digest, d);
  EXPECT_EQ(store.resolve("docker.io/library/busybox:latest").reference, "docker.io/library/busybox:latest");
  EXPECT_EQ(store.resolve(d).manifest_digest, d);
  EXPECT_EQ(store.resolve(d.substr(7, 12)).manifest_digest, d);
  EXPECT_EQ(store.resolve("busybox@" + d).manifest_digest, d);
  EXPECT_EQ(store.resolve("busybox:latest@" + d).manifest_digest, d);
  Image image = store.resolve("busybox");
  EXPECT_EQ(image.config.cmd, std::vector<std::string>{"run"});
  ASSERT_EQ(image.layers.size(), 1u);
  EXPECT_EQ(image.layers[0].digest, digest_of("layer-a"));
  EXPECT_EQ(image.size(), image.config_descriptor.size + 7);
  EXPECT_THROW(store.resolve("busybox:other"), Error);
  EXPECT_THROW(store.resolve("busybox:latest@sha256:" + std::string(64, '0')), Error);

  // Re-pointing a ref replaces it.
  std::string d2 = add_image(store, "layer-b", "docker.io/library/busybox:latest");
  EXPECT_EQ(store.resolve("busybox").manifest_digest, d2);
  EXPECT_EQ(store.refs().size(), 1u);
}

TEST(OciStore, MissingLayerIsAnError) {
  TempDir home;
  Store store(home.path());
  std::string d = add_image(store, "layer-a", "x/y:1");
  fs::remove(store.blob_path(digest_of("layer-a")));
  EXPECT_NE(message_of([&] { store.resolve("x/y:1"); }).find("is not in the store"), std::string::npos);
}

TEST(OciStore, RemoveCollectsUnreferencedBlobsAndRootfs) {
  TempDir home;
  Store store(home.path());
  std::string a = add_image(store, "layer-a", "docker.io/x/a:1");
  add_image(store, "layer-a", "docker.io/x/a:2");  // same image under two refs
  std::string b = add_image(store, "layer-b", "docker.io/x/b:1");
  mcpvm::make_private_dirs(home.path() / "rootfs");
  mcpvm::write_file_atomic(store.rootfs_path(a), "sqfs-a");
  mcpvm::write_file_atomic(store.rootfs_path(b), "sqfs-b");
  mcpvm::write_file_atomic(store.blob_dir() / ".tmp-left-by-a-crash", "junk");

  auto removed = store.remove("x/a:1");
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].reference, "docker.io/x/a:1");
  EXPECT_TRUE(store.has_blob(digest_of("layer-a")));  // still needed by x/a:2
  EXPECT_TRUE(fs::exists(store.rootfs_path(a)));
  EXPECT_FALSE(fs::exists(store.blob_dir() / ".tmp-left-by-a-crash"));

  store.remove("x/a:2");
  EXPECT_FALSE(store.has_blob(digest_of("layer-a")));
  EXPECT_FALSE(store.has_blob(a));
  EXPECT_FALSE(fs::exists(store.rootfs_path(a)));
  EXPECT_TRUE(fs::exists(store.rootfs_path(b)));
  EXPECT_TRUE(store.has_blob(digest_of("layer-b")));

  // By digest: every ref of that digest goes.
  add_image(store, "layer-b", "docker.io/x/c:1");
  EXPECT_EQ(store.remove(b).size(), 2u);
  EXPECT_TRUE(store.refs().empty());
  EXPECT_TRUE(files_in(store.blob_dir()).empty());
  EXPECT_FALSE(fs::exists(store.rootfs_path(b)));
  EXPECT_EQ(message_of([&] { store.remove("x/a:1"); }), "image x/a:1 not found");
}

TEST(OciStore, CorruptRefsFileIsReported) {
  TempDir home;
  Store store(home.path());
  mcpvm::write_file_atomic(home.path() / "refs.json", "{not json");
  EXPECT_NE(message_of([&] { store.refs(); }).find("is corrupt"), std::string::npos);
}

}  // namespace
