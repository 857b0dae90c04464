// What an image is once it is in the store: its manifest's digest (the identity everything else keys on),
// its parsed config and its layers. Produced by Store::resolve(); consumed by rootfs, vm and runner.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mcpvm::oci {

// An OCI content descriptor: what a manifest says about a blob.
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
};

// The image config's "config" object, parsed (docker's capitalised keys: Entrypoint, Cmd, Env, ...).
struct ImageConfig {
  std::vector<std::string> entrypoint, cmd, env;  // env as "K=V"
  std::string working_dir, user;
  std::vector<std::string> exposed_ports;  // "8080/tcp", sorted
  std::map<std::string, std::string> labels;
  std::string architecture, os;
  std::string created;  // RFC 3339 as the image says, may be empty
};

struct Image {
  std::string reference;        // normalized, e.g. "docker.io/library/busybox:latest"
  std::string manifest_digest;  // "sha256:<hex>": the image's identity; the rootfs cache is keyed by it
  Descriptor config_descriptor;
  ImageConfig config;
  std::vector<Descriptor> layers;  // bottom to top, with their media types (gzip, zstd or uncompressed tar)
  std::vector<std::string> diff_ids;

  // Sum of config and layer blob sizes (what the store holds for this image).
  int64_t size() const;
};

// Layer compression as told by its media type.
enum class Compression { none, gzip, zstd };
// Throws Error("unknown layer media type X") for anything that is not a tar layer.
Compression layer_compression(const std::string& media_type);

}  // namespace mcpvm::oci
