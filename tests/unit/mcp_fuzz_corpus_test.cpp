// Runs the fuzz target's entry point over a seed corpus and deterministic mutations of it, so the
// fuzzed code paths are exercised on every `make test` under g++ (and ASan with `make asan`).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

const std::vector<std::string> kSeeds = {
    "",
    "{}",
    "[]",
    "[1,2,3]",
    "null",
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})",
    R"({"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"echo","_meta":{"progressToken":7}}})",
    R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})",
    R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"mcpvm-1","progress":1}})",
    R"({"jsonrpc":"2.0","id":1,"result":{}})",
    R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})",
    R"({"jsonrpc":"2.0","id":5,"method":"sampling/createMessage","params":{}})",
    R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"x"}])",
    "event: endpoint\ndata: /messages?session_id=1\n\n",
    "id: 3-4\r\ndata: {\"a\":1}\r\ndata: more\r\n\r\n: keep-alive\n\n",
    "data:x\rdata:y\r\r",
    "application/json;q=0.9, text/event-stream",
    "http://localhost:3000",
    "http://[::1]:8080",
    "https://evil.example@127.0.0.1",
    "{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"x\"}",
    "\xff\xfe\x00{",
    std::string(1000, '['),
};

void run(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(McpFuzzCorpus, SeedsRunCleanly) {
  for (const auto& s : kSeeds) run(s);
}

TEST(McpFuzzCorpus, MutationsRunCleanly) {
  std::mt19937 rng(12345);
  for (const auto& seed : kSeeds) {
    for (int i = 0; i < 200; ++i) {
      std::string s = seed;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 3) {
          case 0:
            s.insert(s.begin() + static_cast<long>(pos), static_cast<char>(rng() % 256));
            break;
          case 1:
            if (pos < s.size()) s.erase(pos, 1);
            break;
          default:
            if (pos < s.size()) s[pos] = "{}[]\":,\n\r 0aZ-"[rng() % 15];
            break;
        }
      }
      run(s);
    }
  }
}

}  // namespace
