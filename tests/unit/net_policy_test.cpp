// EgressPolicy, host patterns, ToolHive permission profiles and the frame filter's rules.
#include <gtest/gtest.h>

#include "net/filter.h"
#include "net/policy.h"
#include "unit/net_test_frames.h"
#include "util/error.h"

namespace mcpvm::net {
namespace {

using namespace std::chrono_literals;

TEST(NetHostPattern, WildcardMatchesSubdomainsAtAnyDepthButNotTheApex) {
  auto p = HostPattern::parse("*.Example.com.");
  EXPECT_TRUE(p.matches("api.example.com"));
  EXPECT_TRUE(p.matches("a.b.c.example.com"));
  EXPECT_FALSE(p.matches("example.com"));
  EXPECT_FALSE(p.matches("badexample.com"));
  EXPECT_FALSE(p.matches("example.com.evil.net"));
  auto exact = HostPattern::parse("api.github.com");
  EXPECT_TRUE(exact.matches("api.github.com"));
  EXPECT_FALSE(exact.matches("x.api.github.com"));
}

TEST(NetHostPattern, RejectsDangerousPatterns) {
  for (const char* bad : {"*", "*.com", "*.co.uk", "*.", "", "a*.example.com", "foo.*.com", "*.*.example.com",
                          "exa mple.com", "-a.example.com", "a..b", "10.0.2.2", "*.github.io"}) {
    EXPECT_THROW(HostPattern::parse(bad), Error) << bad;
  }
  EXPECT_NO_THROW(HostPattern::parse("*.example.co.uk"));
  EXPECT_NO_THROW(HostPattern::parse("localhost"));
}

TEST(NetPolicy, EmptyAllowlistIsDenyAll) {
  auto p = EgressPolicy::allowlist({}, {443});
  EXPECT_EQ(p.mode, EgressMode::deny_all);
  EXPECT_FALSE(p.host_allowed("example.com"));
  EXPECT_FALSE(p.port_allowed(443));
}

TEST(NetPolicy, PortsRestrictAllowedHosts) {
  auto p = EgressPolicy::allowlist({"a.test"}, {443, 8080});
  EXPECT_TRUE(p.port_allowed(443));
  EXPECT_FALSE(p.port_allowed(80));
  EXPECT_TRUE(EgressPolicy::allowlist({"a.test"}, {}).port_allowed(22));
}

TEST(NetProfile, BuiltinProfiles) {
  EXPECT_EQ(load_permission_profile("none").egress.mode, EgressMode::deny_all);
  EXPECT_EQ(load_permission_profile("network").egress.mode, EgressMode::allow_all);
}

TEST(NetProfile, ParsesToolHiveJson) {
  auto p = parse_permission_profile(nlohmann::json::parse(R"({
    "read": ["/data"], "write": [],
    "network": {"outbound": {"insecure_allow_all": false, "allow_host": ["api.github.com", "*.example.com"],
                             "allow_port": [443]}}})"));
  EXPECT_EQ(p.egress.mode, EgressMode::allowlist);
  EXPECT_EQ(p.read, std::vector<std::string>{"/data"});
  EXPECT_TRUE(p.egress.host_allowed("x.example.com"));
  EXPECT_FALSE(p.egress.host_allowed("example.com"));
  EXPECT_EQ(p.egress.ports, std::vector<uint16_t>{443});
}

TEST(NetProfile, StrictAboutUnknownFieldsAndTypes) {
  for (const char* bad : {
           R"({"netwrok": {}})",
           R"({"network": {"outbound": {"allow_hosts": ["a.test"]}}})",
           R"({"network": {"inbound": {}}})",
           R"({"network": {"outbound": {"insecure_allow_all": "true"}}})",
           R"({"network": {"outbound": {"allow_host": "a.test"}}})",
           R"({"network": {"outbound": {"allow_host": [1]}}})",
           R"({"network": {"outbound": {"allow_host": ["a.test"], "allow_port": ["443"]}}})",
           R"({"network": {"outbound": {"allow_host": ["a.test"], "allow_port": [70000]}}})",
           R"({"network": {"outbound": {"allow_host": ["*"]}}})",
           R"({"network": {"outbound": {"insecure_allow_all": true, "allow_host": ["a.test"]}}})",
           R"({"read": "/"})",
           R"([])",
       }) {
    EXPECT_THROW(parse_permission_profile(nlohmann::json::parse(bad)), Error) << bad;
  }
  // No network section at all: deny-all, like ToolHive's `none`.
  EXPECT_EQ(parse_permission_profile(nlohmann::json::object()).egress.mode, EgressMode::deny_all);
  EXPECT_EQ(
      parse_permission_profile(nlohmann::json::parse(R"({"network":{"outbound":{"allow_port":[443]}}})"))
          .egress.mode,
      EgressMode::deny_all);
}

TEST(NetProfile, AllowPrivateNetworkIsAnOptIn) {
  auto outbound = [](const char* fields) {
    return parse_permission_profile(
        nlohmann::json::parse(fmt::format(R"({{"network":{{"outbound":{{{}}}}}}})", fields)));
  };
  EXPECT_FALSE(outbound(R"("allow_host": ["a.test"])").egress.allow_private_network);
  EXPECT_TRUE(
      outbound(R"("allow_host": ["a.test"], "allow_private_network": true)").egress.allow_private_network);
  EXPECT_TRUE(
      outbound(R"("insecure_allow_all": true, "allow_private_network": true)").egress.allow_private_network);
  EXPECT_FALSE(load_permission_profile("network").egress.allow_private_network);
  EXPECT_EQ(outbound(R"("allow_host": ["a.test"], "allow_private_network": true)")
                .egress.to_json()["allow_private_network"],
            true);
  // A wrong type, and an opt-in that a deny-all profile would silently ignore, are errors.
  EXPECT_THROW(outbound(R"("allow_host": ["a.test"], "allow_private_network": "yes")"), Error);
  EXPECT_THROW(outbound(R"("allow_private_network": true)"), Error);
}

TEST(NetProfile, MissingOrInvalidFileIsAnError) {
  EXPECT_THROW(load_permission_profile("/nonexistent/profile.json"), Error);
}

// --- the filter ---

constexpr Ipv4 kGuest = 0x0a00020f, kGateway = 0x0a000202, kDns = 0x0a000203, kRemote = 0x5db8d822;

Verdict inspect(const EgressFilter& f, const Bytes& frame) {
  auto parsed = parse_frame(frame);
  EXPECT_TRUE(parsed);
  return f.inspect(*parsed, Clock::now());
}

TEST(NetFilter, AllowlistAdmitsOnlyLearnedAddressesOnAllowedPorts) {
  EgressFilter f(EgressPolicy::allowlist({"a.test"}, {443}), {});
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 443, kTcpSyn)).reason, "raw_ip");
  f.learn(kRemote, Clock::now() + 60s);
  auto ok = inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 443, kTcpSyn));
  EXPECT_EQ(ok.action, Action::pass);
  EXPECT_EQ(ok.reason, "tcp_connect");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 80, kTcpSyn)).reason, "port");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 53, kTcpSyn)).reason, "dns_tcp");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 853, kTcpSyn)).reason, "dot");
  EXPECT_EQ(inspect(f, test::udp_frame(kGuest, kRemote, 1000, 443)).reason, "udp");
  EXPECT_EQ(inspect(f, test::udp_frame(kGuest, kRemote, 1000, 53)).reason, "dns_bypass");
  EXPECT_EQ(inspect(f, test::ipv4_frame(kGuest, kRemote, kProtoIcmp, Bytes(8, 0))).reason, "protocol");
}

TEST(NetFilter, LearnedAddressesExpire) {
  EgressFilter f(EgressPolicy::allowlist({"a.test"}, {}), {});
  f.learn(kRemote, Clock::now() - 1s);
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 443, kTcpSyn)).reason, "raw_ip");
  f.forget_expired(Clock::now());
  EXPECT_FALSE(f.learned(kRemote, Clock::now()));
}

TEST(NetFilter, OnlyAnAllowlistLearnsAddresses) {
  // Nothing consults learned addresses outside an allowlist: learning there would only grow the table.
  for (const auto& policy : {EgressPolicy::allow_all(), EgressPolicy::deny_all()}) {
    EgressFilter f(policy, {});
    f.learn(kRemote, Clock::now() + 60s);
    EXPECT_EQ(f.learned_count(), 0u) << to_string(policy.mode);
  }
}

TEST(NetFilter, LearnedAddressesAreCappedOldestAnswerFirst) {
  EgressFilter f(EgressPolicy::allowlist({"a.test"}, {}), {});
  constexpr Ipv4 kDeclared = 0x02000001, kFirst = 0x01000000;
  f.admit_declared(kDeclared);
  auto now = Clock::now();
  constexpr size_t kExtra = 10;
  for (size_t i = 0; i < kMaxLearnedAddresses + kExtra; ++i)  // each answer later than the previous one
    f.learn(kFirst + Ipv4(i), now + 600s + std::chrono::milliseconds(i));
  EXPECT_LE(f.learned_count(), kMaxLearnedAddresses + 1);
  EXPECT_FALSE(f.learned(kFirst, now));
  EXPECT_FALSE(f.learned(kFirst + kExtra - 1, now));
  EXPECT_TRUE(f.learned(kFirst + kExtra, now));
  EXPECT_TRUE(f.learned(kFirst + Ipv4(kMaxLearnedAddresses + kExtra - 1), now));
  // The user's --add-host addresses are not the guest's to evict.
  EXPECT_TRUE(f.learned(kDeclared, now));
}

TEST(NetFilter, DnsIsInterceptedAndNeverForwarded) {
  EgressFilter f(EgressPolicy::allow_all(), {});
  EXPECT_EQ(inspect(f, test::udp_frame(kGuest, kDns, 5353, 53)).action, Action::answer_dns);
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kDns, 1000, 53, kTcpSyn)).reason, "dns_bypass");
  EXPECT_EQ(inspect(f, test::udp_frame(kGuest, kDns, 1000, 853)).reason, "dns_bypass");
}

TEST(NetFilter, HostLoopbackOnlyWhenAllowed) {
  EgressFilter closed(EgressPolicy::allow_all(), {});
  EXPECT_EQ(inspect(closed, test::tcp_frame(kGuest, kGateway, 1000, 8080, kTcpSyn)).reason, "host_loopback");
  EXPECT_EQ(inspect(closed, test::tcp_frame(kGuest, 0x0a000209, 1000, 8080, kTcpSyn)).reason,
            "host_loopback");
  auto policy = EgressPolicy::allow_all();
  policy.allow_host_loopback = true;
  EgressFilter open(policy, {});
  EXPECT_EQ(inspect(open, test::tcp_frame(kGuest, kGateway, 1000, 8080, kTcpSyn)).action, Action::pass);
}

TEST(NetFilter, ForbiddenDestinationsInEveryMode) {
  auto policy = EgressPolicy::allow_all();
  policy.allow_host_loopback = true;
  EgressFilter f(policy, {});
  f.learn(0xa9fea9fe, Clock::now() + 60s);  // even if a name resolved to it
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, 0xa9fea9fe, 1000, 80, kTcpSyn)).reason, "link_local_metadata");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, 0x7f000001, 1000, 80, kTcpSyn)).reason, "loopback");
  EXPECT_EQ(inspect(f, test::udp_frame(kGuest, 0xe0000001, 1000, 80)).reason, "multicast");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, 0x646464c8, 1000, 80, kTcpSyn)).reason, "cloud_metadata");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, 0xa83f8110, 1000, 80, kTcpSyn)).reason, "cloud_metadata");
}

// 10/8, 172.16/12, 192.168/16, 100.64/10: the LAN (or the provider's), never the internet.
constexpr Ipv4 kPrivate[] = {0x0a010203, 0x0affffff, 0xac100001, 0xac1fffff,
                             0xc0a80101, 0x64400001, 0x647fffff};
constexpr Ipv4 kPublicNeighbours[] = {0x0b000001, 0xac0fffff, 0xac200000, 0xc0a90000, 0x643fffff, 0x64800000};
constexpr Ipv4 kHostAddress = 0xcb007107;  // 203.0.113.7: stands for the host's own public address

TEST(NetFilter, PrivateDestinationsDeniedInEveryMode) {
  auto allowlist = EgressPolicy::allowlist({"a.test"}, {});
  for (const auto& policy : {EgressPolicy::allow_all(), allowlist}) {
    EgressFilter f(policy, {}, {kHostAddress});
    for (Ipv4 a : kPrivate) {
      f.learn(a, Clock::now() + 60s);  // as if a hostile DNS answer for an allowed name named it
      EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, a, 1000, 443, kTcpSyn)).reason, "private_network")
          << format_ipv4(a) << " under " << to_string(policy.mode);
      EXPECT_EQ(inspect(f, test::udp_frame(kGuest, a, 1000, 443)).action, Action::drop) << format_ipv4(a);
    }
    f.learn(kHostAddress, Clock::now() + 60s);
    EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kHostAddress, 1000, 22, kTcpSyn)).reason, "host_address");
  }
  EgressFilter open(EgressPolicy::allow_all(), {}, {kHostAddress});
  for (Ipv4 a : kPublicNeighbours)
    EXPECT_EQ(inspect(open, test::tcp_frame(kGuest, a, 1000, 443, kTcpSyn)).action, Action::pass)
        << format_ipv4(a);
}

TEST(NetFilter, AllowPrivateNetworkOpensTheLanButNotMetadataOrHostLoopback) {
  auto policy = EgressPolicy::allow_all();
  policy.allow_private_network = true;
  EgressFilter f(policy, {}, {kHostAddress});
  for (Ipv4 a : {kPrivate[0], kPrivate[2], kPrivate[4], kPrivate[5], kHostAddress})
    EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, a, 1000, 443, kTcpSyn)).action, Action::pass)
        << format_ipv4(a);
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, 0xa9fea9fe, 1000, 80, kTcpSyn)).reason, "link_local_metadata");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, 0xa83f8110, 1000, 80, kTcpSyn)).reason, "cloud_metadata");
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kGateway, 1000, 80, kTcpSyn)).reason, "host_loopback");
  auto list = EgressPolicy::allowlist({"a.test"}, {443});
  list.allow_private_network = true;
  EgressFilter learned(list, {});
  EXPECT_EQ(inspect(learned, test::tcp_frame(kGuest, kPrivate[0], 1000, 443, kTcpSyn)).reason, "raw_ip");
  learned.learn(kPrivate[0], Clock::now() + 60s);
  EXPECT_EQ(inspect(learned, test::tcp_frame(kGuest, kPrivate[0], 1000, 443, kTcpSyn)).action, Action::pass);
}

TEST(NetFilter, DeclaredHostIsReachableEvenWhenPrivate) {
  // --add-host db.test:10.0.0.5 whose name the policy allows: the user asked for that address.
  constexpr Ipv4 kDb = 0x0a000005;
  EgressFilter open(EgressPolicy::allow_all(), {});
  open.admit_declared(kDb);
  EXPECT_EQ(inspect(open, test::tcp_frame(kGuest, kDb, 1000, 5432, kTcpSyn)).action, Action::pass);
  EXPECT_EQ(inspect(open, test::tcp_frame(kGuest, kDb + 1, 1000, 5432, kTcpSyn)).reason, "private_network");
  EgressFilter list(EgressPolicy::allowlist({"db.test"}, {5432}), {});
  list.admit_declared(kDb);
  EXPECT_EQ(inspect(list, test::tcp_frame(kGuest, kDb, 1000, 5432, kTcpSyn)).action, Action::pass);
  EXPECT_EQ(inspect(list, test::tcp_frame(kGuest, kDb, 1000, 22, kTcpSyn)).reason, "port");
}

TEST(NetFilter, AnswersKeepOnlyAddressesTheGuestMayReach) {
  const std::vector<Ipv4> answer = {kRemote,      0x0a000005, 0x7f000001, 0xa9fea9fe,
                                    kHostAddress, 0x0a000202, 0x08080808};
  EgressFilter closed(EgressPolicy::allowlist({"a.test"}, {}), {}, {kHostAddress});
  EXPECT_EQ(closed.relayable(answer), (std::vector<Ipv4>{kRemote, 0x08080808}));
  auto policy = EgressPolicy::allowlist({"a.test"}, {});
  policy.allow_private_network = true;
  EgressFilter open(policy, {}, {kHostAddress});
  EXPECT_EQ(open.relayable(answer), (std::vector<Ipv4>{kRemote, 0x0a000005, kHostAddress, 0x08080808}));
  // slirp's 10.0.2.2 is the host's 127.0.0.1: its own opt-in, not the LAN's.
  policy.allow_private_network = false;
  policy.allow_host_loopback = true;
  EgressFilter loopback(policy, {}, {kHostAddress});
  EXPECT_EQ(loopback.relayable(answer), (std::vector<Ipv4>{kRemote, 0x0a000202, 0x08080808}));
}

TEST(NetFilter, DenyAllDeniesEverythingButArpDhcpAndDns) {
  EgressFilter f(EgressPolicy::deny_all(), {});
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 443, kTcpSyn)).reason, "deny_all");
  EXPECT_EQ(inspect(f, test::arp_frame()).action, Action::pass);
  EXPECT_EQ(inspect(f, test::udp_frame(0, 0xffffffff, 68, 67)).action, Action::pass);
  EXPECT_EQ(inspect(f, test::ipv6_frame()).reason, "ipv6");
}

TEST(NetFilter, FragmentsAreDropped) {
  EgressFilter f(EgressPolicy::allow_all(), {});
  Bytes frag = test::tcp_frame(kGuest, kRemote, 1000, 443, kTcpSyn);
  frag[14 + 7] = 1;  // offset 8
  EXPECT_EQ(inspect(f, frag).reason, "fragment");
}

TEST(NetFilter, OnlyPureSynNeedsADecision) {
  // slirp opens host connections only for SYN-only segments; others of a flow pass uncounted.
  EgressFilter f(EgressPolicy::deny_all(), {});
  auto ack = inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 443, kTcpAck));
  EXPECT_EQ(ack.action, Action::pass);
  EXPECT_TRUE(ack.reason.empty());
  EXPECT_EQ(inspect(f, test::tcp_frame(kGuest, kRemote, 1000, 443, kTcpSyn | kTcpFin)).action, Action::pass);
}

}  // namespace
}  // namespace mcpvm::net
