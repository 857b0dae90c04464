#include <gtest/gtest.h>

#include "util/error.h"
#include "vm/command.h"

using namespace mcpvm;
using V = std::vector<std::string>;

TEST(VmCommand, DockerRunRules) {
  V ep = {"/entry", "-x"}, cmd = {"serve", "--port=1"};
  EXPECT_EQ(vm::resolve_command(ep, cmd, std::nullopt, {}), (V{"/entry", "-x", "serve", "--port=1"}));
  EXPECT_EQ(vm::resolve_command(ep, cmd, std::nullopt, {"other"}), (V{"/entry", "-x", "other"}));
  EXPECT_EQ(vm::resolve_command(ep, cmd, std::string("/bin/sh"), {}), (V{"/bin/sh"}));
  EXPECT_EQ(vm::resolve_command(ep, cmd, std::string("/bin/sh"), {"-c", "id"}), (V{"/bin/sh", "-c", "id"}));
  EXPECT_EQ(vm::resolve_command({}, cmd, std::nullopt, {}), cmd);
  EXPECT_EQ(vm::resolve_command(ep, cmd, std::string(""), {"echo", "x"}), (V{"echo", "x"}));
}

TEST(VmCommand, NothingToRunIsAnError) {
  EXPECT_THROW(vm::resolve_command({}, {}, std::nullopt, {}), Error);
  EXPECT_THROW(vm::resolve_command({"/e"}, {"c"}, std::string(""), {}), Error);
}

TEST(VmCommand, EnvFileAndDashE) {
  vm::HostEnv host = [](const std::string& k) -> std::optional<std::string> {
    if (k == "FROM_HOST") return "hostval";
    return std::nullopt;
  };
  auto env = vm::runtime_env({"# comment\n\nA=1\r\n  B=two words\nFROM_HOST\nUNSET_ON_HOST\nC=\n"},
                             {"A=2", "FROM_HOST", "D=x=y"}, host);
  EXPECT_EQ(env, (V{"A=1", "B=two words", "FROM_HOST=hostval", "C=", "A=2", "FROM_HOST=hostval", "D=x=y"}));
}

TEST(VmCommand, EnvEntryWithoutNameIsAnError) {
  auto host = vm::process_env();
  EXPECT_THROW(vm::parse_env_file("A=1\n=oops\n", host), Error);
  EXPECT_THROW(vm::runtime_env({}, {"=x"}, host), Error);
}
