// Parsers for the registry's untrusted JSON: manifests (OCI and Docker schema 2), indexes / manifest lists,
// and image configs. Every parser throws mcpvm::Error with a one-line reason on anything malformed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "oci/image.h"

namespace mcpvm::oci {

namespace media {
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view docker_schema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view docker_schema1_signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
// What we send as Accept when fetching manifests.
inline constexpr std::string_view accept_manifests =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media

// Manifests and indexes larger than this are refused: it is the limit docker's own registry
// (distribution) puts on a pushed manifest, so no image a registry accepted has a larger one.
inline constexpr size_t kMaxManifestBytes = size_t(4) << 20;
// Image configs larger than this are refused. A config is held in memory whole and parsed; real ones are
// a few KiB (the build history rarely passes 100 KiB), so this leaves ample room while a hostile image
// cannot make us hold an arbitrary amount.
inline constexpr size_t kMaxConfigBytes = size_t(4) << 20;

struct Platform {
  std::string os = "linux", architecture = "amd64", variant;
  // "linux/amd64", "linux/arm64/v8". Throws Error on anything else.
  static Platform parse(std::string_view text);
  std::string str() const;
};

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct IndexEntry {
  Descriptor descriptor;
  Platform platform;
};

struct Index {
  std::string media_type;
  std::vector<IndexEntry> manifests;
};

enum class ManifestKind { manifest, index };

// Which kind a manifest document is: by the Content-Type the registry sent (may be empty or generic) and
// else by its own "mediaType" / shape. Throws for schema 1 ("schema 1 manifests are not supported: ...")
// and for unknown media types.
ManifestKind classify_manifest(std::string_view content_type, std::string_view body);

Manifest parse_manifest(std::string_view body);
Index parse_index(std::string_view body);
// Parses an image config blob (the whole document: architecture, os, created, config{}, rootfs.diff_ids).
void parse_config(std::string_view body, ImageConfig& config, std::vector<std::string>& diff_ids);

// The entry of an index for a platform. Throws Error("no linux/amd64 image in the index (it has: ...)").
const IndexEntry& choose_platform(const Index& index, const Platform& platform);

// The single entry point the fuzzer and its unit test drive: classifies and parses any document, never
// crashes, only throws mcpvm::Error.
void parse_any_document(std::string_view body);

}  // namespace mcpvm::oci
