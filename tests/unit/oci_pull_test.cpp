// `pull` against a fake registry on 127.0.0.1 (oci_fake_registry.h): the byte bounds a hostile registry
// must not get past. Loopback only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>

#include "oci/manifest.h"
#include "oci/pull.h"
#include "oci_fake_registry.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

using mcpvm::Error;
using mcpvm::Sha256;
using mcpvm::TempDir;
using mcpvm::oci::test::FakeRegistry;
using namespace mcpvm::oci;

namespace {

std::string digest_of(std::string_view data) {
  return "sha256:" + Sha256::hex(data);
}

const std::string kConfig = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"diff_ids":[]}})";
const std::string kLayer = "layer bytes";
// Far more than any bound below lets through, little enough that a test of the unfixed code ends.
constexpr uint64_t kFlood = uint64_t(256) << 20;
// What may pass the loopback socket buffers before the client hangs up.
constexpr uint64_t kMaxExpectedSent = uint64_t(32) << 20;

std::string manifest(int64_t config_size, int64_t layer_size) {
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", media::oci_manifest},
      {"config", {{"mediaType", media::oci_config}, {"digest", digest_of(kConfig)}, {"size", config_size}}},
      {"layers",
       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
         {"digest", digest_of(kLayer)},
         {"size", layer_size}}}}};
  return m.dump();
}

struct PullFixture : ::testing::Test {
  TempDir home;
  Store store{home.path() / "home"};
  FakeRegistry registry;

  void SetUp() override {
    ::setenv("DOCKER_CONFIG", (home.path() / "no-docker-config").c_str(), 1);  // never real credentials
  }
  void serve_image(int64_t config_size, int64_t layer_size) {
    std::string m = manifest(config_size, layer_size);
    registry.route("/v2/x/img/manifests/1",
                   {200, "Content-Type: " + std::string(media::oci_manifest) + "\r\n", m});
    registry.route("/v2/x/img/blobs/" + digest_of(kConfig), {200, "", kConfig});
    registry.route("/v2/x/img/blobs/" + digest_of(kLayer), {200, "", kLayer});
  }
  // The error of pulling x/img:1, or "(no error)".
  std::string pull_error() {
    PullOptions o;
    o.registry.tls_verify = false;
    o.registry.max_attempts = 1;
    o.quiet = true;
    try {
      pull(store, registry.host() + "/x/img:1", o);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
  bool requested(const std::string& path) {
    for (const std::string& line : registry.log())
      if (line == "GET " + path) return true;
    return false;
  }
};

}  // namespace

TEST_F(PullFixture, AWellBehavedRegistryPulls) {
  serve_image(int64_t(kConfig.size()), int64_t(kLayer.size()));
  EXPECT_EQ(pull_error(), "(no error)");
}

TEST_F(PullFixture, AConfigLongerThanDeclaredIsCutOffWhileStreaming) {
  serve_image(int64_t(kConfig.size()), int64_t(kLayer.size()));
  registry.route("/v2/x/img/blobs/" + digest_of(kConfig), {200, "", kConfig, kFlood});
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(pull_error(), ::testing::HasSubstr(fmt::format("is larger than the {} bytes", kConfig.size())));
  EXPECT_LT(registry.bytes_sent(), kMaxExpectedSent);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_FALSE(store.has_blob(digest_of(kConfig)));
}

TEST_F(PullFixture, ALayerLongerThanDeclaredIsCutOffWhileStreaming) {
  serve_image(int64_t(kConfig.size()), int64_t(kLayer.size()));
  registry.route("/v2/x/img/blobs/" + digest_of(kLayer), {200, "", kLayer, kFlood});
  EXPECT_THAT(pull_error(), ::testing::HasSubstr(fmt::format("is larger than the {} bytes", kLayer.size())));
  EXPECT_LT(registry.bytes_sent(), kMaxExpectedSent);
  EXPECT_FALSE(store.has_blob(digest_of(kLayer)));
}

TEST_F(PullFixture, AConfigDeclaredOverTheCapIsNotFetched) {
  serve_image(int64_t(kMaxConfigBytes) + 1, int64_t(kLayer.size()));
  EXPECT_THAT(pull_error(), ::testing::HasSubstr("the image config is larger than"));
  EXPECT_FALSE(requested("/v2/x/img/blobs/" + digest_of(kConfig)));
}

TEST_F(PullFixture, LayersThatCannotFitOnTheDiskAreRefusedBeforeDownloading) {
  serve_image(int64_t(kConfig.size()), int64_t(1) << 60);  // an exbibyte
  EXPECT_THAT(pull_error(), ::testing::MatchesRegex(".*: not enough free space in .*home: the image needs .* "
                                                    "more, .* are free"));
  EXPECT_FALSE(requested("/v2/x/img/blobs/" + digest_of(kLayer)));
}

TEST_F(PullFixture, DeclaredSizesThatOverflowWhenSummedAreRefused) {
  std::string m = manifest(int64_t(kConfig.size()), INT64_MAX);
  nlohmann::json doc = nlohmann::json::parse(m);
  doc["layers"].push_back(doc["layers"][0]);
  doc["layers"][1]["digest"] = digest_of("another layer");
  registry.route("/v2/x/img/manifests/1",
                 {200, "Content-Type: " + std::string(media::oci_manifest) + "\r\n", doc.dump()});
  registry.route("/v2/x/img/blobs/" + digest_of(kConfig), {200, "", kConfig});
  EXPECT_THAT(pull_error(), ::testing::HasSubstr("not enough free space"));
}
