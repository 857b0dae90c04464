// Manifest, index and config parsing of untrusted registry JSON; also runs the fuzz corpus.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "oci/manifest.h"
#include "util/error.h"

using mcpvm::Error;
using namespace mcpvm::oci;

namespace {

const std::string kD1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const std::string kD2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const std::string kD3 = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

std::string oci_manifest(const std::string& layer_type = "application/vnd.oci.image.layer.v1.tar+gzip") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kD1 + R"(","size":10},
    "layers":[{"mediaType":")" +
         layer_type + R"(","digest":")" + kD2 + R"(","size":20},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
         kD3 + R"(","size":30}]})";
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OciManifest, ParsesOciManifest) {
  Manifest m = parse_manifest(oci_manifest());
  EXPECT_EQ(m.media_type, media::oci_manifest);
  EXPECT_EQ(m.config.digest, kD1);
  EXPECT_EQ(m.config.size, 10);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].digest, kD2);
  EXPECT_EQ(layer_compression(m.layers[0].media_type), Compression::gzip);
  EXPECT_EQ(layer_compression(m.layers[1].media_type), Compression::none);
  EXPECT_EQ(classify_manifest("", oci_manifest()), ManifestKind::manifest);
  EXPECT_EQ(classify_manifest("application/vnd.oci.image.manifest.v1+json", "ignored"),
            ManifestKind::manifest);
}

TEST(OciManifest, LayerMediaTypes) {
  EXPECT_EQ(layer_compression("application/vnd.docker.image.rootfs.diff.tar.gzip"), Compression::gzip);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.v1.tar+zstd"), Compression::zstd);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
            Compression::gzip);
  EXPECT_EQ(layer_compression("application/vnd.docker.image.rootfs.diff.tar"), Compression::none);
  EXPECT_EQ(message_of([] { layer_compression("application/x-foo"); }),
            "unknown layer media type \"application/x-foo\"");
  EXPECT_THROW(parse_manifest(oci_manifest("application/vnd.oci.image.layer.v1.tar+bzip2")), Error);
}

TEST(OciManifest, DockerSchema2WithoutMediaTypeInBodyUsesContentType) {
  std::string body =
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
      kD1 +
      R"(","size":1},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
      kD2 + R"(","size":2}]})";
  EXPECT_EQ(classify_manifest("application/vnd.docker.distribution.manifest.v2+json", body),
            ManifestKind::manifest);
  EXPECT_EQ(parse_manifest(body).layers.size(), 1u);
}

TEST(OciManifest, RejectsSchema1) {
  std::string s1 = R"({"schemaVersion":1,"name":"x","tag":"1","fsLayers":[]})";
  EXPECT_NE(message_of([&] { classify_manifest("", s1); }).find("schema 1 manifests are not supported"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              classify_manifest("application/vnd.docker.distribution.manifest.v1+prettyjws", s1);
            }).find("schema 1"),
            std::string::npos);
  EXPECT_NE(message_of([&] { parse_manifest(s1); }).find("schema 1"), std::string::npos);
}

TEST(OciManifest, NestingBombFromARegistryIsRefused) {
  std::string bomb =
      R"({"schemaVersion":2,"annotations":)" + std::string(1 << 19, '[') + std::string(1 << 19, ']') + "}";
  EXPECT_NE(message_of([&] { parse_manifest(bomb); }).find("nested deeper than 128 levels"),
            std::string::npos);
}

TEST(OciManifest, RejectsUnknownAndMalformed) {
  EXPECT_EQ(message_of([] { classify_manifest("application/x-weird", "{}"); }),
            "unknown manifest media type \"application/x-weird\"");
  const std::string bad[] = {
      "",
      "[]",
      "{",
      R"({"schemaVersion":2})",
      R"({"schemaVersion":"2","config":{},"layers":[]})",
      R"({"schemaVersion":3,"config":{},"layers":[]})",
      R"({"schemaVersion":2,"config":{"digest":"sha256:xyz","size":1},"layers":[]})",
      R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":-1},"layers":[]})",
      R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":1.5},"layers":[]})",
      R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":1},"layers":{}})",
      R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":1},"layers":[]})",  // no layers
      R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":1},"layers":[7]})",
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{"digest":")" +
          kD1 + R"(","size":1},"layers":[]})",
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b);
    EXPECT_THROW(parse_manifest(b), Error);
  }
}

TEST(OciManifest, RejectsOver4MiB) {
  std::string big =
      R"({"schemaVersion":2,"annotations":{"x":")" + std::string(kMaxManifestBytes, 'a') + R"("}})";
  EXPECT_EQ(message_of([&] { parse_manifest(big); }), "the manifest is larger than 4 MiB");
  EXPECT_THROW(classify_manifest("", big), Error);
}

std::string index_json() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD1 + R"(","size":1,
     "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD2 + R"(","size":2,
     "platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD3 + R"(","size":3,
     "annotations":{"vnd.docker.reference.type":"attestation-manifest"},
     "platform":{"os":"unknown","architecture":"unknown"}}]})";
}

TEST(OciManifest, IndexChoosesPlatform) {
  Index index = parse_index(index_json());
  EXPECT_EQ(classify_manifest("", index_json()), ManifestKind::index);
  EXPECT_EQ(classify_manifest("application/vnd.docker.distribution.manifest.list.v2+json", "{}"),
            ManifestKind::index);
  ASSERT_EQ(index.manifests.size(), 3u);
  EXPECT_EQ(choose_platform(index, Platform{}).descriptor.digest, kD2);
  EXPECT_EQ(choose_platform(index, Platform::parse("linux/arm64")).descriptor.digest, kD1);
  EXPECT_EQ(choose_platform(index, Platform::parse("linux/arm64/v8")).descriptor.digest, kD1);
  EXPECT_EQ(message_of([&] { choose_platform(index, Platform::parse("linux/s390x")); }),
            "no linux/s390x image in the index (it has: linux/arm64/v8, linux/amd64, unknown/unknown)");
  Index empty = parse_index(R"({"schemaVersion":2,"manifests":[]})");
  EXPECT_EQ(message_of([&] { choose_platform(empty, Platform{}); }),
            "no linux/amd64 image in the index (it has: no platforms)");
}

TEST(OciManifest, PlatformParse) {
  EXPECT_EQ(Platform::parse("linux/amd64").str(), "linux/amd64");
  EXPECT_EQ(Platform::parse("linux/arm/v7").variant, "v7");
  for (const char* bad : {"linux", "linux/", "/amd64", "a/b/c/d", ""})
    EXPECT_THROW(Platform::parse(bad), Error);
}

TEST(OciManifest, ParsesConfig) {
  std::string cfg = R"({"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",
    "config":{"Entrypoint":["node","/app/index.js"],"Cmd":["stdio"],"Env":["PATH=/usr/bin","A=b=c"],
              "WorkingDir":"/app","User":"1000:1000","ExposedPorts":{"8080/tcp":{},"53/udp":{}},
              "Labels":{"org.example":"yes"}},
    "rootfs":{"type":"layers","diff_ids":[")" +
                    kD1 + R"("]}})";
  ImageConfig c;
  std::vector<std::string> diff_ids;
  parse_config(cfg, c, diff_ids);
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"node", "/app/index.js"}));
  EXPECT_EQ(c.cmd, std::vector<std::string>{"stdio"});
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/usr/bin", "A=b=c"}));
  EXPECT_EQ(c.working_dir, "/app");
  EXPECT_EQ(c.user, "1000:1000");
  EXPECT_EQ(c.exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
  EXPECT_EQ(c.labels.at("org.example"), "yes");
  EXPECT_EQ(c.architecture, "amd64");
  EXPECT_EQ(c.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(diff_ids, std::vector<std::string>{kD1});

  ImageConfig empty;
  parse_config(R"({"config":null,"rootfs":{"diff_ids":[]}})", empty, diff_ids);
  EXPECT_TRUE(empty.cmd.empty());
  EXPECT_TRUE(diff_ids.empty());
  for (const char* bad :
       {R"({"config":{"Cmd":"sh"}})", R"({"config":{"Env":[1]}})", R"({"config":{"Labels":{"a":1}}})",
        R"({"config":[]})", R"({"rootfs":{"diff_ids":["nope"]}})", R"({"os":5})", "null"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_config(bad, empty, diff_ids), Error);
  }
}

// The fuzz target's inputs, through the same entry point (tests/fuzz/oci_manifest_fuzz.cpp).
TEST(OciManifest, FuzzCorpusNeverCrashes) {
  std::filesystem::path dir = std::filesystem::path(MCPVM_SOURCE_DIR) / "tests" / "fuzz" / "oci_corpus";
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_NO_THROW(parse_any_document(ss.str())) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 8u);
  // Adversarial shapes built here: deep nesting, huge numbers, invalid UTF-8, embedded NULs.
  EXPECT_NO_THROW(parse_any_document(std::string(100000, '[')));
  EXPECT_NO_THROW(parse_any_document(R"({"schemaVersion":2,"config":{"digest":")" + kD1 +
                                     R"(","size":99999999999999999999999},"layers":[]})"));
  EXPECT_NO_THROW(parse_any_document(std::string("{\"schemaVersion\":2,\"mediaType\":\"\xff\xfe\"}")));
  EXPECT_NO_THROW(parse_any_document(std::string("{\"a\":\"\0\"}", 9)));
}

}  // namespace
