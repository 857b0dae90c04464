// How `mcpvm run X` reads X, and the image it boots (docs/registry.md "Run by name"):
//
//   1. X has a tag, a digest or a registry port (it contains ':' or '@'): an image reference.
//   2. X names an image in the local store ("busybox", "mcpvm-demo"): that image.
//   3. A configured registry has a server named X (full, or the part after the last '/'): that entry.
//   4. Otherwise: an image reference, pulled as --pull says.
//
// So a reference always wins when it looks like one or is already here, and registry names never need a
// prefix. --pull follows docker: missing (pull when not in the store), always, never.
#pragma once

#include <string>
#include <string_view>

#include "oci/image.h"

namespace mcpvm::cli {

enum class PullPolicy { missing, always, never };
PullPolicy parse_pull_policy(std::string_view text);  // throws Error naming the accepted values

// Rules 1 and 2: whether X is an image reference without asking any registry.
bool is_image_reference(std::string_view text);

// The image X in the store, pulled first as the policy says. A registry on a loopback address
// (127.0.0.0/8, localhost, [::1]) is spoken to in plain http, as docker treats them as insecure registries.
oci::Image ensure_image(const std::string& reference, PullPolicy policy);

}  // namespace mcpvm::cli
