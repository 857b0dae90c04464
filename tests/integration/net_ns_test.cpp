// Network integration tests without a VM: a network namespace (tests/integration/net_guest_ns.cpp)
// plays the guest; its eth0 is relayed to a real UserNetwork, and busybox run inside the namespace
// tries every allowed path and every bypass of issue 6. Test servers listen on the host's 127.0.0.1
// only; nothing reaches beyond loopback (denied destinations are dropped before slirp sees them).
//
// The host resolver is a spy: this process runs in a private mount namespace whose /etc/resolv.conf
// points at a fake DNS server on 127.0.0.1:53, so a test can prove a query never left the host.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "integration/loopback_servers.h"
#include "net/dns.h"
#include "net/user_network.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"

namespace mcpvm::net {
namespace {

using namespace std::chrono_literals;
using test::GreetingServer;
using test::listen_loopback;
using test::local_port;

constexpr Ipv4 kHostLoopbackAlias = 0x0a000202;  // 10.0.2.2 -> host 127.0.0.1
constexpr Ipv4 kLanAddress = 0xc0a80105;         // 192.168.1.5: only ever named in an answer, never dialled

std::string bin_dir() {
  const char* dir = std::getenv("MCPVM_BIN_DIR");
  return dir ? dir : ".";
}

// The host's resolver during these tests: records every name asked; answers hostres.test with
// 10.0.2.2, lan.test with a LAN address (as a hostile or split-horizon server would) and everything
// else with NXDOMAIN.
class ResolverSpy {
 public:
  void start() {
    fd_ = listen_loopback(SOCK_DGRAM, 53);
    std::thread([this] { serve(); }).detach();  // lives as long as the process
  }
  bool saw(const std::string& name) {
    std::lock_guard lock(mutex_);
    return seen_.count(name) > 0;
  }

 private:
  void serve() {
    uint8_t buffer[512];
    while (true) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      auto parsed = parse_dns_query(ByteView(buffer, static_cast<size_t>(n)));
      if (!parsed.query) continue;
      {
        std::lock_guard lock(mutex_);
        seen_.insert(parsed.query->name);
      }
      const std::string& name = parsed.query->name;
      bool known = name == "hostres.test" || name == "lan.test";
      Ipv4 address = name == "lan.test" ? kLanAddress : kHostLoopbackAlias;
      Bytes answer = build_dns_response(*parsed.query, known ? kDnsNoError : kDnsNxDomain, {address}, 30);
      ::sendto(fd_.get(), answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  UniqueFd fd_;
  std::mutex mutex_;
  std::set<std::string> seen_;
};

ResolverSpy& resolver_spy() {
  static ResolverSpy spy;
  return spy;
}

// A UserNetwork with a namespace guest attached and configured over DHCP.
class Guest {
 public:
  explicit Guest(UserNetworkConfig config, nlohmann::json guest_config = {{"renew", false}})
      : network_(config) {
    // The guest's /etc/hosts gets the --add-host entries, as `mcpvm run` arranges.
    for (const auto& h : config.hosts)
      guest_config["hosts"].push_back({{"name", h.name}, {"ip", format_ipv4(h.address)}});
    UniqueFd frames = network_.take_guest_fd();
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) fail_errno("pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);
    SpawnOptions options;
    options.fds = {{frames.get(), 3}, {out_w.get(), 1}};
    process_ = Subprocess::spawn({bin_dir() + "/net_guest_ns", guest_config.dump()}, options);
    frames.reset();
    out_w.reset();
    std::string line;
    char c;
    pollfd p{out_r.get(), POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 20000) > 0 &&
           ::read(out_r.get(), &c, 1) == 1)
      line += c;
    if (!line.starts_with("READY ")) fail("the namespace guest did not come up: {:?}", line);
    address_ = line.substr(6, line.size() - 7);
  }
  ~Guest() { process_.terminate(2s); }

  // Runs a command inside the guest's namespaces.
  CommandResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 20s) {
    std::vector<std::string> full = {"nsenter", "-t", std::to_string(process_.pid()), "-n", "-m", "-u", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full, timeout);
  }
  // busybox nc: connects, prints what the server sent. Exit 0 and a greeting when it got through.
  CommandResult connect(const std::string& host, uint16_t port) {
    return run({"busybox", "nc", "-w", "2", host, std::to_string(port)});
  }
  CommandResult lookup(const std::string& name) { return run({"busybox", "nslookup", name}); }

  uint64_t allowed(const std::string& key) const { return get(network_.counters().allowed, key); }
  uint64_t denied(const std::string& key) const { return get(network_.counters().denied, key); }
  const std::string& address() const { return address_; }
  std::string counters() const { return network_.counters().to_json().dump(); }

 private:
  static uint64_t get(const std::map<std::string, uint64_t>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
  }
  UserNetwork network_;
  Subprocess process_;
  std::string address_;
};

UserNetworkConfig allowlist_config(std::vector<uint16_t> ports, bool loopback = true) {
  UserNetworkConfig c;
  c.policy =
      EgressPolicy::allowlist({"srv.test", "*.wild.test", "hostres.test", "lan.test"}, std::move(ports));
  c.policy.allow_host_loopback = loopback;
  c.hosts = {{"srv.test", kHostLoopbackAlias},
             {"deep.a.wild.test", kHostLoopbackAlias},
             {"other.test", kHostLoopbackAlias}};
  return c;
}

bool got_greeting(const CommandResult& r, uint16_t port) {
  return r.status.exited() && r.status.code() == 0 && r.out == fmt::format("hello {}\n", port);
}

TEST(NetNamespace, DhcpConfiguresAddressRouteAndResolver) {
  Guest guest(allowlist_config({}));
  EXPECT_EQ(guest.address(), "10.0.2.15");
  auto route = guest.run({"busybox", "ip", "route"});
  EXPECT_NE(route.out.find("default via 10.0.2.2 dev eth0"), std::string::npos) << route.out;
  auto resolv = guest.run({"busybox", "cat", "/etc/resolv.conf"});
  EXPECT_EQ(resolv.out, "nameserver 10.0.2.3\n");
  auto hosts = guest.run({"busybox", "cat", "/etc/hosts"});
  EXPECT_NE(hosts.out.find("10.0.2.2\tsrv.test"), std::string::npos) << hosts.out;
  EXPECT_GE(guest.allowed("dhcp"), 2u);  // DISCOVER and REQUEST reached slirp's DHCP server
}

TEST(NetNamespace, AllowedNameAndPortConnectsOtherPortFails) {
  GreetingServer allowed_server, other_server;
  Guest guest(allowlist_config({allowed_server.port()}));
  EXPECT_TRUE(got_greeting(guest.connect("srv.test", allowed_server.port()), allowed_server.port()));
  // Through our DNS (not /etc/hosts): a wildcard name at depth 2.
  auto lookup = guest.lookup("deep.a.wild.test");
  EXPECT_EQ(lookup.status.code(), 0) << lookup.out << lookup.err;
  EXPECT_NE(lookup.out.find("10.0.2.2"), std::string::npos) << lookup.out;
  auto other = guest.connect("srv.test", other_server.port());
  EXPECT_FALSE(got_greeting(other, other_server.port()));
  EXPECT_EQ(other_server.connections(), 0);
  EXPECT_GE(guest.denied("port"), 1u) << guest.counters();
  EXPECT_GE(guest.allowed("tcp_connect"), 1u);
}

TEST(NetNamespace, NameNotAllowedIsNxdomainAndNeverReachesTheHostResolver) {
  Guest guest(allowlist_config({}));
  auto r = guest.lookup("notallowed.test");
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.out.find("NXDOMAIN"), std::string::npos) << r.out << r.err;
  EXPECT_FALSE(resolver_spy().saw("notallowed.test"));
  // The apex of a wildcard is not allowed either.
  EXPECT_NE(guest.lookup("wild.test").out.find("NXDOMAIN"), std::string::npos);
  EXPECT_FALSE(resolver_spy().saw("wild.test"));
  // Control: an allowed name without --add-host does go to the host's resolver, and its answer admits.
  GreetingServer server;
  auto allowed = guest.lookup("hostres.test");
  EXPECT_EQ(allowed.status.code(), 0) << allowed.out;
  EXPECT_TRUE(resolver_spy().saw("hostres.test"));
  EXPECT_GE(guest.denied("dns_name"), 2u);
}

TEST(NetNamespace, HostileAnswerNamingTheLanIsWithheld) {
  // lan.test is allowed, and the host's resolver answers it with 192.168.1.5: the guest must not learn
  // that address (the filter would then admit it). It gets NOERROR without addresses. The test only
  // resolves: nothing dials the LAN address.
  Guest guest(allowlist_config({}));
  auto r = guest.lookup("lan.test");
  EXPECT_TRUE(resolver_spy().saw("lan.test"));
  EXPECT_EQ(r.out.find("192.168.1.5"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("NXDOMAIN"), std::string::npos) << r.out;
  EXPECT_GE(guest.denied("dns_private_address"), 1u) << guest.counters();
}

TEST(NetNamespace, RawIpOfAReachableServerFails) {
  GreetingServer server;
  UserNetworkConfig config = allowlist_config({server.port()});
  config.hosts = {};  // nothing learned in advance
  Guest guest(config);
  // 10.0.2.2 reaches the host's 127.0.0.1 (and --allow-host-loopback is on), but no answer of ours named it.
  EXPECT_FALSE(got_greeting(guest.connect("10.0.2.2", server.port()), server.port()));
  EXPECT_EQ(server.connections(), 0);
  EXPECT_GE(guest.denied("raw_ip"), 1u) << guest.counters();
}

TEST(NetNamespace, DnsOverTcpAndDotFail) {
  GreetingServer server;
  Guest guest(allowlist_config({53, 853, server.port()}));
  EXPECT_FALSE(guest.connect("10.0.2.3", 53).status.code() == 0);  // TCP/53 to our DNS address
  EXPECT_FALSE(guest.connect("srv.test", 53).status.code() == 0);  // TCP/53 to an admitted address
  EXPECT_FALSE(guest.connect("srv.test", 853).status.code() == 0);
  EXPECT_GE(guest.denied("dns_bypass"), 1u) << guest.counters();
  EXPECT_GE(guest.denied("dns_tcp"), 1u) << guest.counters();
  EXPECT_GE(guest.denied("dot"), 1u) << guest.counters();
  // UDP DNS to anyone but 10.0.2.3.
  auto direct = guest.run({"busybox", "nslookup", "srv.test", "10.0.2.2"}, 30s);
  EXPECT_NE(direct.status.code(), 0);
  EXPECT_GE(guest.denied("dns_bypass"), 2u) << guest.counters();
}

TEST(NetNamespace, Ipv6Fails) {
  Guest guest(allowlist_config({}));
  // configure_network switched IPv6 off on eth0; a guest that switches it back on (root in the guest)
  // must still be stopped by the filter on the host side.
  auto on = guest.run({"busybox", "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6"});
  ASSERT_EQ(on.status.code(), 0) << on.err;
  guest.run({"busybox", "ip", "-6", "addr", "add", "fd00::15/64", "dev", "eth0"});
  auto r = guest.run({"busybox", "nc", "-w", "2", "fd00::2", "80"});
  EXPECT_NE(r.status.code(), 0);
  EXPECT_GE(guest.denied("ipv6"), 1u) << guest.counters();
}

TEST(NetNamespace, DenyAllFailsEverything) {
  GreetingServer server;
  UserNetworkConfig config = allowlist_config({server.port()});
  config.policy = EgressPolicy::allowlist({}, {server.port()});  // an empty allowlist
  config.policy.allow_host_loopback = true;
  Guest guest(config);
  EXPECT_NE(guest.lookup("srv.test").out.find("NXDOMAIN"), std::string::npos);
  EXPECT_FALSE(got_greeting(guest.connect("srv.test", server.port()), server.port()));  // via /etc/hosts
  EXPECT_FALSE(got_greeting(guest.connect("10.0.2.2", server.port()), server.port()));
  EXPECT_EQ(server.connections(), 0);
  EXPECT_GE(guest.denied("deny_all"), 2u) << guest.counters();
}

TEST(NetNamespace, NetworkProfileReachesHostLoopbackOnlyWithTheFlag) {
  GreetingServer server;
  UserNetworkConfig closed;
  closed.policy = load_permission_profile("network").egress;
  {
    Guest guest(closed);
    EXPECT_FALSE(got_greeting(guest.connect("10.0.2.2", server.port()), server.port()));
    EXPECT_GE(guest.denied("host_loopback"), 1u) << guest.counters();
  }
  UserNetworkConfig open = closed;
  open.policy.allow_host_loopback = true;
  Guest guest(open);
  EXPECT_TRUE(got_greeting(guest.connect("10.0.2.2", server.port()), server.port()));
  EXPECT_EQ(server.connections(), 1);
}

TEST(NetNamespace, PortForwardReachesTheGuest) {
  UniqueFd probe = listen_loopback(SOCK_STREAM, 0);
  uint16_t host_port = local_port(probe.get());
  probe.reset();  // a free port for slirp to bind
  UserNetworkConfig config;
  config.policy = EgressPolicy::deny_all();  // inbound forwards work whatever the egress policy
  config.forwards = {{0x7f000001, host_port, 8080}};
  Guest guest(config);
  TempDir www;
  write_file_atomic(www.path() / "index.html", "forwarded\n");
  // httpd in the foreground, in the background of the shell: its pid is printed, and the guard below kills
  // it on every exit path (the guest shares our pid namespace; a daemonized httpd would outlive the test).
  auto server = guest.run({"busybox", "sh", "-c",
                           fmt::format("busybox httpd -f -p 8080 -h {} </dev/null >/dev/null 2>&1 & echo $!",
                                       www.path().string())});
  pid_t httpd = std::atoi(server.out.c_str());
  ASSERT_GT(httpd, 1) << server.out << server.err;
  struct KillOnExit {
    pid_t pid;
    ~KillOnExit() { ::kill(pid, SIGKILL); }
  } kill_httpd{httpd};
  std::string body;
  for (int i = 0; i < 50 && body != "forwarded\n"; ++i) {  // httpd binds shortly after the shell returns
    if (i > 0) std::this_thread::sleep_for(100ms);
    body =
        run_command({"curl", "-s", "--max-time", "10", fmt::format("http://127.0.0.1:{}/", host_port)}, 20s)
            .out;
  }
  EXPECT_EQ(body, "forwarded\n");
}

TEST(NetNamespace, PortForwardThatCannotBindIsAnError) {
  UniqueFd taken = listen_loopback(SOCK_STREAM, 0);
  UserNetworkConfig config;
  config.forwards = {{0x7f000001, local_port(taken.get()), 80}};
  EXPECT_THROW(UserNetwork{config}, Error);
}

TEST(NetNamespace, DhcpLeaseIsRenewed) {
  GreetingServer server;
  UserNetworkConfig config = allowlist_config({server.port()});
  config.dhcp_lease_seconds = 4;  // T1 = 2 s
  Guest guest(config, {{"renew", true}});
  uint64_t initial = guest.allowed("dhcp");
  std::this_thread::sleep_for(5s);
  EXPECT_GE(guest.allowed("dhcp"), initial + 2) << "no renewal REQUESTs: " << guest.counters();
  EXPECT_TRUE(got_greeting(guest.connect("srv.test", server.port()), server.port()));
}

}  // namespace
}  // namespace mcpvm::net

int main(int argc, char** argv) {
  // Before any thread exists: a private mount namespace with a resolv.conf pointing at the spy.
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::perror("net_ns_test: private mount namespace (needs root)");
    return 1;
  }
  char path[] = "/tmp/mcpvm-net-resolv-XXXXXX";
  int fd = ::mkstemp(path);
  std::string conf = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
  if (fd < 0 || ::write(fd, conf.data(), conf.size()) != static_cast<ssize_t>(conf.size()) ||
      ::mount(path, "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0) {
    std::perror("net_ns_test: redirecting the host resolver");
    return 1;
  }
  ::close(fd);
  ::unlink(path);  // the bind mount keeps it alive
  mcpvm::net::resolver_spy().start();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
