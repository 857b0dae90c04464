#include <gtest/gtest.h>

#include "guest/env.h"

using namespace mcpvm::guest;

TEST(GuestEnv, LaterLayersOverrideEarlierOnesInPlace) {
  auto env = merge_env({{"PATH=/img", "A=image", "B=image"}, {"A=runtime", "C=runtime"}, {"B=secret"}});
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/img", "A=runtime", "B=secret", "C=runtime"}));
}

TEST(GuestEnv, DropsEntriesWithoutNameOrEquals) {
  auto env = merge_env({{"=x", "NOEQ", "EMPTY=", "X=a=b"}});
  EXPECT_EQ(env, (std::vector<std::string>{"EMPTY=", "X=a=b"}));
}

TEST(GuestEnv, KeyPrefixIsNotTheSameKey) {
  auto env = merge_env({{"AB=1"}, {"A=2"}});
  EXPECT_EQ(env, (std::vector<std::string>{"AB=1", "A=2"}));
}

TEST(GuestEnv, DefaultsOnlyFillGaps) {
  std::vector<std::string> env = {"HOME=/data"};
  set_default_env(env, "HOME", "/root");
  set_default_env(env, "PATH", kDefaultPath);
  EXPECT_EQ(env[0], "HOME=/data");
  ASSERT_NE(find_env(env, "PATH"), nullptr);
  EXPECT_EQ(*find_env(env, "PATH"), std::string("PATH=") + kDefaultPath);
  EXPECT_EQ(find_env(env, "HOM"), nullptr);
}
