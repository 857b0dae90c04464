// NetworkRequest: `run`'s network flags turned into the typed request, the combinations that must be
// refused, its strict JSON form, and what the runner derives from it at each boot.
#include <gtest/gtest.h>

#include "net/request.h"
#include "util/error.h"

namespace mcpvm::net {
namespace {

// What one boot gets from a request: the stack's configuration and the guest's addressing.
struct Derived {
  std::optional<UserNetworkConfig> user_network;
  nlohmann::json guest_network;
};

// The flags as `run` spells them (cli/network_flags.cpp binds the same names to NetworkFlags).
NetworkFlags flags_from(const std::vector<std::string>& args) {
  NetworkFlags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--allow-host-loopback") {
      f.allow_host_loopback = true;
      continue;
    }
    if (a == "--allow-private-network") {
      f.allow_private_network = true;
      continue;
    }
    if (i + 1 >= args.size()) throw std::logic_error("flag without value: " + a);
    const std::string& v = args[++i];
    if (a == "-p")
      f.publish.push_back(v);
    else if (a == "--permission-profile")
      f.permission_profile = v;
    else if (a == "--allow-host")
      f.allow_host.push_back(v);
    else if (a == "--allow-port")
      f.allow_port.push_back(v);
    else if (a == "--network")
      f.network = v;
    else if (a == "--add-host")
      f.add_host.push_back(v);
    else
      throw std::logic_error("unknown flag in test: " + a);
  }
  return f;
}

Derived resolve(const std::vector<std::string>& args) {
  NetworkRequest r = build_network_request(flags_from(args));
  // The request survives config.json: derive from the reloaded copy, as the runner does.
  r = network_request_from_json(nlohmann::json::parse(to_json(r).dump()));
  Derived d;
  if (r.enabled) d.user_network = user_network_config(r);
  d.guest_network = guest_network_config(r, "srv");
  return d;
}

TEST(NetworkRequest, DefaultIsTheNetworkProfileWithoutHostLoopback) {
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

TEST(NetworkRequest, AllowlistPublishAndAddHost) {
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
  // db.test is not on the allowlist: our DNS answers NXDOMAIN and the guest's /etc/hosts leaves it out.
  EXPECT_TRUE(s.guest_network["hosts"].empty()) << s.guest_network.dump();
}

TEST(NetworkRequest, NetworkNoneHasNoNic) {
  auto s = resolve({"--network", "none"});
  EXPECT_FALSE(s.user_network);
  EXPECT_TRUE(s.guest_network.is_null());
}

TEST(NetworkRequest, RefusesWhatCannotBeEnforced) {
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

TEST(NetworkRequest, JsonIsStrictAndNamesTheKey) {
  nlohmann::json good =
      to_json(build_network_request(flags_from({"--allow-host", "a.test", "-p", "8080:80"})));
  EXPECT_NO_THROW(network_request_from_json(good));
  auto message = [&](const std::function<void(nlohmann::json&)>& mangle) {
    nlohmann::json j = good;
    mangle(j);
    try {
      network_request_from_json(j);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message([](auto& j) { j["surprise"] = 1; }), "network.surprise: unknown key");
  EXPECT_EQ(message([](auto& j) { j["enabled"] = 1; }), "network.enabled: expected true or false");
  EXPECT_EQ(message([](auto& j) { j["egress"]["mode"] = "open"; }),
            "network.egress.mode: unknown mode \"open\"");
  EXPECT_EQ(message([](auto& j) { j["egress"]["hosts"] = {"*"}; }).find("network.egress.hosts: allowed host"),
            0u);
  EXPECT_EQ(message([](auto& j) { j["forwards"][0]["host_port"] = 70000; }),
            "network.forwards[].host_port: expected an integer in range");
  EXPECT_EQ(message([](auto& j) { j["forwards"][0]["host_address"] = "0.0.0.0"; }).find("network.forwards:"),
            0u);
  EXPECT_EQ(message([](auto& j) { j.erase("egress"); }), "network.egress: missing");
}

TEST(NetworkRequest, EtcHostsNamesOnlyWhatThePolicyAllows) {
  auto d = resolve(
      {"--allow-host", "ok.test", "--add-host", "ok.test:10.0.2.2", "--add-host", "no.test:10.0.2.2"});
  ASSERT_EQ(d.guest_network["hosts"].size(), 1u) << d.guest_network.dump();
  EXPECT_EQ(d.guest_network["hosts"][0]["name"], "ok.test");
  EXPECT_EQ(resolve({"--add-host", "any.test:10.0.2.2"}).guest_network["hosts"].size(), 1u) << "allow-all";
}

TEST(NetworkRequest, PrivateNetworksAreAnOptInThatSurvivesTheConfig) {
  EXPECT_FALSE(resolve({}).user_network->policy.allow_private_network) << "denied by default";
  EXPECT_TRUE(resolve({"--allow-private-network"}).user_network->policy.allow_private_network);
  EXPECT_TRUE(resolve({"--allow-host", "a.test", "--allow-private-network"})
                  .user_network->policy.allow_private_network);
  EXPECT_ANY_THROW(resolve({"--permission-profile", "none", "--allow-private-network"}));
  EXPECT_ANY_THROW(resolve({"--network", "none", "--allow-private-network"}));
}

TEST(NetworkRequest, NetworkNoneRoundTripsAsDisabled) {
  NetworkRequest r =
      network_request_from_json(to_json(build_network_request(flags_from({"--network", "none"}))));
  EXPECT_FALSE(r.enabled);
  EXPECT_THROW(user_network_config(r), Error);
  EXPECT_TRUE(guest_network_config(r, "x").is_null());
}

TEST(NetworkRequest, ExtraForwardsJoinTheUsersOnes) {
  NetworkRequest r = build_network_request(flags_from({"-p", "8080:80"}));
  PortForward upstream;
  upstream.host_port = 40000;
  upstream.guest_port = 8080;
  auto c = user_network_config(r, {upstream});
  ASSERT_EQ(c.forwards.size(), 2u);
  EXPECT_EQ(c.forwards[1].host_port, 40000);
}

}  // namespace
}  // namespace mcpvm::net
