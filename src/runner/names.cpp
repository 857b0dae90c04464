#include "runner/names.h"

#include <array>
#include <random>

#include "util/error.h"

namespace mcpvm::runner {

namespace {

constexpr size_t kMaxNameLength = 63;

constexpr std::array kAdjectives = {"amber",  "bold",  "brave", "calm",  "clever", "eager",  "fancy",
                                    "gentle", "happy", "jolly", "keen",  "lucid",  "merry",  "nimble",
                                    "proud",  "quiet", "rapid", "sharp", "silent", "steady", "swift",
                                    "tidy",   "vivid", "wise",  "zesty", "bright", "cosmic", "daring"};
constexpr std::array kNouns = {"turing", "hopper",     "lovelace", "knuth",   "ritchie", "thompson",
                               "liskov", "dijkstra",   "hamilton", "babbage", "shannon", "church",
                               "curry",  "backus",     "torvalds", "wirth",   "kay",     "lamport",
                               "hoare",  "milner",     "perlis",   "allen",   "cerf",    "kahn",
                               "postel", "stroustrup", "pike",     "mccarthy"};

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_name_char(char c) {
  return is_name_start(c) || c == '_' || c == '.' || c == '-';
}

}  // namespace

bool is_valid_vm_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || !is_name_start(name.front())) return false;
  for (char c : name)
    if (!is_name_char(c)) return false;
  return true;
}

void check_vm_name(std::string_view name) {
  if (!is_valid_vm_name(name))
    fail("invalid VM name \"{}\": use 1-{} characters from [a-zA-Z0-9_.-], starting with a letter or digit",
         name, kMaxNameLength);
}

std::string generate_vm_name(const std::function<bool(const std::string&)>& taken) {
  std::random_device seed;
  std::mt19937 rng(seed());
  std::uniform_int_distribution<size_t> adj(0, kAdjectives.size() - 1), noun(0, kNouns.size() - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string name = fmt::format("{}_{}", kAdjectives[adj(rng)], kNouns[noun(rng)]);
    if (attempt >= 20) name += fmt::format("_{}", attempt);
    if (!taken(name)) return name;
  }
  fail("could not find a free VM name: pass --name");
}

}  // namespace mcpvm::runner
