// `mcpvm run`'s network flags: parsing through CLI11 and the combinations that must be refused.
#include <gtest/gtest.h>

#include "cli/network_flags.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

NetworkSetup resolve(std::vector<std::string> args) {
  CLI::App app;
  NetworkFlags flags;
  add_network_flags(app, flags);
  std::vector<const char*> argv = {"run"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  return resolve_network_flags(flags, "srv");
}

TEST(NetFlags, DefaultIsTheNetworkProfileWithoutHostLoopback) {
  auto s = resolve({});
  ASSERT_TRUE(s.user_network);
  EXPECT_EQ(s.user_network->policy.mode, net::EgressMode::allow_all);
  EXPECT_FALSE(s.user_network->policy.allow_host_loopback);
  EXPECT_EQ(s.guest_network["hostname"], "srv");
  // Static addressing: what slirp serves, so the guest needs no DHCP exchange.
  EXPECT_EQ(s.guest_network["address"], "10.0.2.15/24");
  EXPECT_EQ(s.guest_network["gateway"], "10.0.2.2");
  EXPECT_EQ(s.guest_network["dns"], nlohmann::json::array({"10.0.2.3"}));
}

TEST(NetFlags, AllowlistPublishAndAddHost) {
  auto s = resolve({"--allow-host", "api.github.com", "--allow-host", "*.example.com", "--allow-port", "443",
                    "-p", "8080:80", "-p", "127.0.0.1:9090:90/tcp", "--add-host", "db.test:10.0.2.2",
                    "--allow-host-loopback"});
  ASSERT_TRUE(s.user_network);
  const auto& c = *s.user_network;
  EXPECT_EQ(c.policy.mode, net::EgressMode::allowlist);
  EXPECT_TRUE(c.policy.host_allowed("x.example.com"));
  EXPECT_TRUE(c.policy.port_allowed(443));
  EXPECT_FALSE(c.policy.port_allowed(80));
  EXPECT_TRUE(c.policy.allow_host_loopback);
  ASSERT_EQ(c.forwards.size(), 2u);
  EXPECT_EQ(c.forwards[0].host_port, 8080);
  EXPECT_EQ(c.forwards[1].guest_port, 90);
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].address, 0x0a000202u);
  EXPECT_EQ(s.guest_network["hosts"][0]["name"], "db.test");
}

TEST(NetFlags, NetworkNoneHasNoNic) {
  auto s = resolve({"--network", "none"});
  EXPECT_FALSE(s.user_network);
  EXPECT_TRUE(s.guest_network.is_null());
}

TEST(NetFlags, RefusesWhatCannotBeEnforced) {
  for (std::vector<std::string> bad : {
           std::vector<std::string>{"--network", "none", "-p", "8080:80"},
           {"--network", "none", "--allow-host", "a.test"},
           {"--network", "bridge"},
           {"--allow-port", "443"},
           {"--allow-host", "*"},
           {"--allow-host", "*.com"},
           {"--allow-host", "a.test", "--allow-port", "0"},
           {"--allow-host", "a.test", "--permission-profile", "none"},
           {"--permission-profile", "none", "--allow-host-loopback"},
           {"-p", "0.0.0.0:8080:80"},
           {"-p", "8080:80/udp"},
           {"-p", "80"},
           {"-p", "8080:80", "-p", "8080:81"},
           {"--add-host", "db.test"},
           {"--add-host", "db.test:::1"},
           {"--add-host", "*.db.test:1.2.3.4"},
           {"--permission-profile", "/nonexistent.json"},
       }) {
    EXPECT_ANY_THROW(resolve(bad)) << bad[0] << " " << bad[1];
  }
}

}  // namespace
}  // namespace mcpvm::cli
