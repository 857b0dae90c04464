// libFuzzer target for the manifest / index / config parsers (built with -DMCPVM_FUZZ=ON and clang).
// Its corpus (oci_corpus/) also runs under g++ in tests/unit/oci_manifest_test.cpp through the same
// entry point, parse_any_document().
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mcpvm::oci::parse_any_document(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
