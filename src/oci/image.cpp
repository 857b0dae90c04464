#include "oci/image.h"

#include "util/error.h"

namespace mcpvm::oci {

int64_t Image::size() const {
  int64_t total = config_descriptor.size;
  for (const Descriptor& l : layers) total += l.size;
  return total;
}

Compression layer_compression(const std::string& media_type) {
  // OCI, Docker, and the "nondistributable" variants share suffixes; docker's plain tar has none.
  auto ends_with = [&](std::string_view s) {
    return media_type.size() >= s.size() &&
           media_type.compare(media_type.size() - s.size(), s.size(), s) == 0;
  };
  bool known_prefix = media_type.rfind("application/vnd.oci.image.layer.", 0) == 0 ||
                      media_type.rfind("application/vnd.docker.image.rootfs.", 0) == 0;
  if (known_prefix) {
    if (ends_with(".tar.gzip") || ends_with("tar+gzip")) return Compression::gzip;
    if (ends_with("tar+zstd") || ends_with(".tar.zstd")) return Compression::zstd;
    if (ends_with(".tar") || ends_with("diff.tar")) return Compression::none;
  }
  fail("unknown layer media type \"{}\"", media_type.substr(0, 100));
}

}  // namespace mcpvm::oci
