// Runs a fuzz target's entry point without libFuzzer (any compiler): every file of the seed corpus
// given as argv[1], then deterministic mutations of each (bit flips, truncations, splices, random
// bytes). A crash or sanitizer report fails the test.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::vector<uint8_t>> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "%s: no seeds in %s\n", argv[0], argv[1]);
    return 1;
  }
  std::mt19937 rng(1234);
  size_t runs = 0;
  for (const auto& seed : seeds) {
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
    for (int i = 0; i < 5000; ++i, ++runs) {
      std::vector<uint8_t> input = seed;
      switch (rng() % 4) {
        case 0:
          for (int k = 0; k < 1 + static_cast<int>(rng() % 8) && !input.empty(); ++k)
            input[rng() % input.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          input.resize(input.empty() ? 0 : rng() % input.size());
          break;
        case 2: {
          const auto& other = seeds[rng() % seeds.size()];
          if (!other.empty())
            input.insert(input.begin() + static_cast<long>(input.empty() ? 0 : rng() % input.size()),
                         other.begin(), other.begin() + static_cast<long>(rng() % other.size()));
          break;
        }
        default:
          for (int k = 0; k < 4 && !input.empty(); ++k)
            input[rng() % input.size()] = static_cast<uint8_t>(rng());
      }
      LLVMFuzzerTestOneInput(input.data(), input.size());
    }
  }
  std::printf("%zu seeds, %zu mutated inputs: no crash\n", seeds.size(), runs);
  return 0;
}
