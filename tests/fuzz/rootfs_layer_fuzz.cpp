// libFuzzer target for the layer reader and merger (built with -DMCPVM_FUZZ=ON and clang): each input is
// one layer blob (tar, gzip or zstd). Its corpus (rootfs_corpus/) also runs under g++ in
// tests/unit/rootfs_fuzz_replay_test.cpp through the same entry point, fuzz_one_layer().
#include <cstddef>
#include <cstdint>

#include "rootfs/build.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mcpvm::rootfs::fuzz_one_layer(data, size);
  return 0;
}
