// `mcpvm pull`: fetch an image from a registry into the store.
#pragma once

#include <string>

#include "oci/image.h"
#include "oci/manifest.h"
#include "oci/registry.h"
#include "oci/store.h"

namespace mcpvm::oci {

struct PullOptions {
  Platform platform;
  RegistryOptions registry;
  int parallel = 4;       // concurrent layer downloads
  bool progress = false;  // per-layer progress bars (the CLI sets it when stderr is a TTY)
  bool quiet = false;     // no line output at all
};

// Pulls ref into store and records the ref. Errors read "pulling REF: ...".
Image pull(const Store& store, const std::string& ref, const PullOptions& options);

}  // namespace mcpvm::oci
