// UserNetwork at its socket: frames in QEMU's framing, as a hostile guest could send them. No root,
// no namespace: the test writes frames to the guest end and reads what comes back.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <optional>
#include <stdexcept>

#include "loopback_server.h"
#include "net/dns.h"
#include "net/frame_stream.h"
#include "net/user_network.h"
#include "unit/net_test_frames.h"

namespace mcpvm::net {
namespace {

using namespace std::chrono_literals;

constexpr Ipv4 kGuest = 0x0a00020f, kDns = 0x0a000203;

class Wire {
 public:
  explicit Wire(UserNetworkConfig config) : network_(std::move(config)), fd_(network_.take_guest_fd()) {}

  void send_raw(const Bytes& bytes) {
    ASSERT_EQ(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
  }
  void send_frame(const Bytes& frame) {
    Bytes out;
    append_frame(out, frame);
    send_raw(out);
  }
  void query(uint16_t id, const std::string& name, uint16_t type = kDnsTypeA) {
    send_frame(build_udp_frame({{0x52, 0x54, 0, 0x12, 0x34, 0x56},
                                {0x52, 0x55, 10, 0, 2, 3},
                                kGuest,
                                kDns,
                                40000,
                                53,
                                test::dns_query(id, name, type)}));
  }
  // The next frame sent to the guest that `wanted` accepts (others, e.g. slirp's, are skipped); nullopt on
  // timeout.
  template <typename Pred>
  std::optional<Bytes> next_frame(Pred wanted, std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!pending_.empty()) {
        Bytes f = std::move(pending_.front());
        pending_.erase(pending_.begin());
        auto parsed = parse_frame(f);
        if (parsed && wanted(*parsed)) return f;
        continue;
      }
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      uint8_t buffer[65536];
      ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
      if (n <= 0) break;
      decoder_.feed(ByteView(buffer, size_t(n)),
                    [&](ByteView f) { pending_.emplace_back(f.begin(), f.end()); });
    }
    return std::nullopt;
  }
  // The payload of the next DNS answer sent to the guest; empty on timeout.
  Bytes next_dns_answer(std::chrono::milliseconds timeout = 3s) {
    auto f = next_frame(
        [](const Frame& p) { return p.ports && p.ports->src_port == 53 && p.ipv4 && p.ipv4->src == kDns; },
        timeout);
    if (!f) return {};
    auto parsed = parse_frame(*f);
    return Bytes(parsed->udp_payload.begin(), parsed->udp_payload.end());
  }
  NetworkCounters counters() { return network_.counters(); }

 private:
  UserNetwork network_;
  UniqueFd fd_;
  FrameDecoder decoder_;
  std::vector<Bytes> pending_;
};

UserNetworkConfig allowlist() {
  UserNetworkConfig c;
  c.policy = EgressPolicy::allowlist({"srv.test", "*.wild.test"}, {443});
  c.hosts = {{"srv.test", 0x0a000202}, {"x.wild.test", 0x01020304}, {"denied.test", 0x0a000202}};
  return c;
}

TEST(NetUserNetwork, AnswersAllowedNamesAndNxdomainsTheRest) {
  Wire wire(allowlist());
  wire.query(1, "SRV.test");
  Bytes a = wire.next_dns_answer();
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(get_u16(a, 0), 1);
  EXPECT_EQ(get_u16(a, 2) & 0xf, kDnsNoError);
  EXPECT_EQ(get_u16(a, 6), 1);
  EXPECT_EQ(get_u32(a, a.size() - 4), 0x0a000202u);
  wire.query(2, "denied.test");  // has an --add-host entry, but the policy does not allow it
  Bytes nx = wire.next_dns_answer();
  ASSERT_FALSE(nx.empty());
  EXPECT_EQ(get_u16(nx, 2) & 0xf, kDnsNxDomain);
  EXPECT_EQ(get_u16(nx, 6), 0);
  wire.query(3, "srv.test", kDnsTypeAaaa);
  Bytes empty = wire.next_dns_answer();
  ASSERT_FALSE(empty.empty());
  EXPECT_EQ(get_u16(empty, 2) & 0xf, kDnsNoError);
  EXPECT_EQ(get_u16(empty, 6), 0);
  auto c = wire.counters();
  EXPECT_EQ(c.allowed["dns_answer"], 1u);
  EXPECT_EQ(c.denied["dns_name"], 1u);
}

TEST(NetUserNetwork, HostAnswersWithPrivateAddressesAreNotRelayed) {
  // The host resolves localhost through /etc/hosts to 127.0.0.1: an allowed name whose only address the
  // guest may not reach (a hostile DNS answer naming the LAN behaves the same). The guest gets NOERROR
  // without addresses (NODATA), and nothing is learned.
  UserNetworkConfig config;
  config.policy = EgressPolicy::allowlist({"localhost"}, {});
  Wire wire(std::move(config));
  wire.query(4, "localhost");
  Bytes a = wire.next_dns_answer(10s);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(get_u16(a, 2) & 0xf, kDnsNoError);
  EXPECT_EQ(get_u16(a, 6), 0) << "answers";
  auto c = wire.counters();
  EXPECT_EQ(c.denied["dns_private_address"], 1u);
  EXPECT_EQ(c.allowed["dns_answer"], 0u);
}

TEST(NetUserNetwork, DeniedConnectIsRefusedAtOnce) {
  Wire wire(allowlist());
  // Never answered by our DNS (x.wild.test is 1.2.3.4): a raw-IP connect, denied before slirp sees it.
  constexpr Ipv4 kUnlearned = 0x01020305;
  wire.send_frame(test::tcp_frame(kGuest, kUnlearned, 40001, 443, kTcpSyn));
  auto reset = wire.next_frame([](const Frame& p) { return p.ipv4 && p.ipv4->protocol == kProtoTcp; });
  ASSERT_TRUE(reset.has_value());
  auto f = parse_frame(*reset);
  EXPECT_EQ(f->ipv4->src, kUnlearned);
  EXPECT_EQ(f->ipv4->dst, kGuest);
  EXPECT_EQ(f->ports->src_port, 443);
  EXPECT_EQ(f->ports->dst_port, 40001);
  EXPECT_EQ(f->ports->tcp_flags, kTcpRst | kTcpAck);
  EXPECT_EQ(get_u32(*reset, 14 + 20 + 8), 2u);  // ack = the SYN's seq (1) + 1
  EXPECT_EQ(wire.counters().denied["raw_ip"], 1u);
}

TEST(NetUserNetwork, CountsSlirpFlowsFromItsConnectionListing) {
  // As libslirp 4.7 prints it (misc.c slirp_connection_info); port forward listeners are not flows.
  constexpr std::string_view kListing =
      "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\n"
      "  TCP[HOST_FORWARD]   6       127.0.0.1 40123       10.0.2.15  8080     0     0\n"
      "  TCP[SYN_RCVD]      11       10.0.2.15 41003        10.0.2.2 34543     0     0\n"
      "  TCP[ESTABLISHED]    9       10.0.2.15 41002    93.184.216.34   443     0     0\n"
      "  UDP[236 sec]       12       10.0.2.15 41004         1.1.1.1   123     0     0\n"
      "  ICMP[5 sec]        13       10.0.2.15     0         1.1.1.1     0     0     0\n";
  EXPECT_EQ(count_slirp_flows(kListing), 4u);
  EXPECT_EQ(count_slirp_flows(kListing.substr(0, 80)), 0u);  // the header alone
  EXPECT_EQ(count_slirp_flows(""), 0u);
  EXPECT_EQ(count_slirp_flows("TCP["), 1u);  // no trailing newline
}

// A listener on 127.0.0.1 that never accepts: the kernel completes connections into its backlog, so
// each connection slirp opens for the guest holds one host socket, as a flood of guest connects would.
class LoopbackListener {
 public:
  LoopbackListener()
      : fd_(mcpvm::test::listen_loopback(SOCK_STREAM, 0, 128)), port_(mcpvm::test::local_port(fd_.get())) {}
  uint16_t port() const { return port_; }

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
};

TEST(NetUserNetwork, ConcurrentGuestFlowsAreCapped) {
  constexpr size_t kCap = 8;
  constexpr Ipv4 kHost = 0x0a000202;  // the host's 127.0.0.1
  LoopbackListener listener;
  UserNetworkConfig config;
  config.policy.allow_host_loopback = true;
  config.max_guest_flows = kCap;
  Wire wire(std::move(config));
  auto reset_to = [&](uint16_t guest_port, std::chrono::milliseconds timeout) {
    return wire.next_frame(
        [&](const Frame& p) {
          return p.ports && p.ports->dst_port == guest_port && (p.ports->tcp_flags & kTcpRst);
        },
        timeout);
  };
  for (uint16_t i = 0; i < kCap; ++i)
    wire.send_frame(
        test::tcp_frame(kGuest, kHost, static_cast<uint16_t>(41000 + i), listener.port(), kTcpSyn));
  EXPECT_FALSE(reset_to(41000, 300ms)) << "a flow under the cap was refused";
  wire.send_frame(test::tcp_frame(kGuest, kHost, 41100, listener.port(), kTcpSyn));
  EXPECT_TRUE(reset_to(41100, 3s)) << "the flow over the cap was not refused";
  auto c = wire.counters();
  EXPECT_EQ(c.allowed["tcp_connect"], kCap);
  EXPECT_EQ(c.denied["flow_cap"], 1u);
}

TEST(NetUserNetwork, SurvivesHostileFramesAndResynchronizes) {
  Wire wire(allowlist());
  // Oversized frame (skipped without buffering), garbage frames, a truncated IPv4 header, empty frames.
  Bytes huge;
  put_u32(huge, kMaxFrameSize + 1);
  huge.insert(huge.end(), kMaxFrameSize + 1, 0x45);
  wire.send_raw(huge);
  wire.send_frame(Bytes(5, 0xff));
  Bytes truncated = test::tcp_frame(kGuest, 0x01020304, 1, 443, kTcpSyn);
  truncated.resize(20);
  wire.send_frame(truncated);
  wire.send_raw(Bytes(8, 0));  // two zero-length frames
  // A query with 40 questions and one with a compression loop: FORMERR, not a crash.
  Bytes many = test::dns_query(7, "srv.test", kDnsTypeA);
  many[5] = 40;
  wire.send_frame(build_udp_frame({{}, {}, kGuest, kDns, 40000, 53, many}));
  Bytes formerr = wire.next_dns_answer();
  ASSERT_FALSE(formerr.empty());
  EXPECT_EQ(get_u16(formerr, 0), 7);
  EXPECT_EQ(get_u16(formerr, 2) & 0xf, kDnsFormErr);
  Bytes loop = test::dns_query(9, "x", kDnsTypeA);
  loop.resize(12);
  loop.insert(loop.end(), {1, 'a', 0xc0, 12, 0, 1, 0, 1});
  wire.send_frame(build_udp_frame({{}, {}, kGuest, kDns, 40000, 53, loop}));
  Bytes formerr_loop = wire.next_dns_answer();
  ASSERT_FALSE(formerr_loop.empty());
  EXPECT_EQ(get_u16(formerr_loop, 0), 9);
  EXPECT_EQ(get_u16(formerr_loop, 2) & 0xf, kDnsFormErr);
  // Still in sync and answering.
  wire.query(8, "a.b.wild.test");
  Bytes ok = wire.next_dns_answer();
  ASSERT_FALSE(ok.empty());
  EXPECT_EQ(get_u16(ok, 0), 8);
  auto c = wire.counters();
  EXPECT_GE(c.denied["malformed"], 2u);
  EXPECT_EQ(c.denied["dns_malformed"], 2u);
}

}  // namespace
}  // namespace mcpvm::net
