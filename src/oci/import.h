// `mcpvm import`: load an image from an OCI image-layout directory or a docker-archive tarball
// (`docker save`, `skopeo copy ... docker-archive:`). Nothing from the image is ever extracted onto the host:
// blobs are streamed from the archive into the store while hashed, and every digest is verified.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "oci/image.h"
#include "oci/manifest.h"
#include "oci/store.h"

namespace mcpvm::oci {

struct ImportOptions {
  std::optional<std::string> tag;  // the ref to record; else the image's own name/tag, else an error
  bool replace = false;            // may re-point an existing ref at another image (else that is refused)
  Platform platform;
};

// Imports every image the source names when no tag is given (one when tagged). Errors read
// "importing PATH: ...".
std::vector<Image> import_image(const Store& store, const std::filesystem::path& path,
                                const ImportOptions& options);

}  // namespace mcpvm::oci
