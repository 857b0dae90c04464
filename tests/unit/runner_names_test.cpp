#include <gtest/gtest.h>

#include <set>

#include "runner/names.h"
#include "util/error.h"

namespace mcpvm::runner {
namespace {

TEST(Names, DockerRules) {
  for (std::string good : {std::string("a"), std::string("fetch"), std::string("my-server_1.2"),
                           std::string("0abc"), std::string("A.B-C_d"), std::string(63, 'x')})
    EXPECT_TRUE(is_valid_vm_name(good)) << good;
  for (std::string bad : {"", "-x", "_x", ".x", "..", ".", "a/b", "a b", "a\nb", "ü", "x:y", "../etc"})
    EXPECT_FALSE(is_valid_vm_name(bad)) << bad;
  EXPECT_FALSE(is_valid_vm_name(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_vm_name(std::string_view("a\0b", 3)));
  EXPECT_THROW(check_vm_name("a/b"), Error);
}

TEST(Names, GeneratedNamesAreValidAndAvoidTakenOnes) {
  std::set<std::string> taken;
  for (int i = 0; i < 200; ++i) {
    auto n = generate_vm_name([&](const std::string& s) { return taken.count(s) > 0; });
    EXPECT_TRUE(is_valid_vm_name(n)) << n;
    EXPECT_TRUE(taken.insert(n).second) << n;
  }
}

TEST(Names, GivesUpWhenEverythingIsTaken) {
  EXPECT_THROW(generate_vm_name([](const std::string&) { return true; }), Error);
}

}  // namespace
}  // namespace mcpvm::runner
