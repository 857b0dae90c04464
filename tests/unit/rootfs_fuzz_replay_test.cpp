// Replays the rootfs fuzz corpus (tests/fuzz/rootfs_corpus) and mutations of it through the fuzz entry
// point under g++, so the target's inputs are exercised even where clang/libFuzzer is not used.
#include <gtest/gtest.h>

#include <random>

#include "rootfs/build.h"
#include "util/fs.h"

namespace mcpvm::rootfs {
namespace {

TEST(RootfsFuzzReplay, CorpusAndMutationsNeverCrash) {
  int accepted = 0, rejected = 0;
  std::mt19937 rng(42);
  for (const auto& entry : fs::directory_iterator(MCPVM_SOURCE_DIR "/tests/fuzz/rootfs_corpus")) {
    std::string bytes = read_file(entry.path());
    auto run = [&](const std::string& input) {
      (fuzz_one_layer(reinterpret_cast<const uint8_t*>(input.data()), input.size()) ? accepted : rejected)++;
    };
    run(bytes);
    // Cheap deterministic mutations: flipped bytes in the headers, truncations.
    for (int i = 0; i < 20 && !bytes.empty(); ++i) {
      std::string m = bytes;
      for (int j = 0; j < 4; ++j) m[rng() % std::min<size_t>(m.size(), 1024)] ^= char(1 << (rng() % 8));
      run(m);
      run(bytes.substr(0, rng() % bytes.size()));
    }
  }
  EXPECT_GT(accepted, 10);
  EXPECT_GT(rejected, 10);
}

}  // namespace
}  // namespace mcpvm::rootfs
