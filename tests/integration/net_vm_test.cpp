// The whole network path in a real microVM (QEMU, TCG here): UserNetwork ⇄ -netdev socket ⇄ virtio-net
// ⇄ mcpvm-init's configure_network (DHCP, rtnetlink, resolv.conf, hosts) ⇄ busybox in the guest.
// Checks DHCP, one allowed path, denied paths (other port, name not allowed: NXDOMAIN) and a lease renewal
// (4 s lease) in a running VM. Servers listen on the host's 127.0.0.1 only. (Raw IPs, DNS bypasses and
// IPv6 are covered by net_ns_test: the guest's server runs without CAP_NET_ADMIN, so it cannot craft them.)
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "integration/loopback_servers.h"
#include "net/user_network.h"
#include "util/error.h"
#include "util/process.h"
#include "vm/accel.h"
#include "vm/attach.h"
#include "vm/vm.h"

namespace mcpvm::net {
namespace {

using namespace std::chrono_literals;
using test::GreetingServer;
using test::listen_loopback;
using test::local_port;
namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

uint64_t counter(const std::map<std::string, uint64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

TEST(NetVm, DhcpAllowedAndDeniedPathsAndRenewal) {
  const char* source = std::getenv("MCPVM_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "run through ctest (MCPVM_SOURCE_DIR)";
  char dir_template[] = "/tmp/mcpvm-net-vm.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  fs::path work = dir_template;
  ::setenv("MCPVM_HOME", (work / "home").c_str(), 1);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{work};

  auto tree = work / "tree";
  auto rootfs = work / "busybox.sqfs";
  auto made = run_command(
      {"bash", fmt::format("{}/tests/fixtures/make-busybox-rootfs.sh", source), tree.string()}, 2min);
  ASSERT_EQ(made.status.code(), 0) << made.err;
  auto squashed = run_command({"mksquashfs", tree.string(), rootfs.string(), "-noappend", "-quiet"}, 2min);
  ASSERT_EQ(squashed.status.code(), 0) << squashed.err;

  GreetingServer allowed, other;
  UserNetworkConfig config;
  config.policy = EgressPolicy::allowlist({"srv.test"}, {allowed.port()});
  config.policy.allow_host_loopback = true;
  config.hosts = {{"srv.test", 0x0a000202}, {"other.test", 0x0a000202}};
  config.dhcp_lease_seconds = 4;
  UserNetwork network(config);

  vm::VmSpec spec;
  spec.kernel = vm::find_kernel();
  spec.accel = vm::choose_accel(spec.kernel, spec.qemu_binary);
  spec.rootfs = rootfs;
  spec.console_log = work / "console.log";
  spec.boot_timeout = 120s;
  UniqueFd frames = network.take_guest_fd();
  spec.network_fd = frames.get();
  spec.guest.hostname = "netvm";
  spec.guest.network = {
      {"hostname", "netvm"},
      {"hosts", {{{"name", "srv.test"}, {"ip", "10.0.2.2"}}, {{"name", "other.test"}, {"ip", "10.0.2.2"}}}}};
  std::string script = fmt::format(
      "ip -4 addr show eth0 | grep -o 'inet [0-9./]*'; ip route | grep default; cat /etc/resolv.conf; "
      "echo ALLOWED=$(nc -w 10 srv.test {0}); "
      "echo OTHER_PORT=$(nc -w 3 srv.test {1} 2>&1 | head -c 40 | grep -c hello); "
      "nslookup notallowed.test >/dev/null 2>&1; echo NSLOOKUP_RC=$?; "
      "sleep 8; echo AFTER_RENEWAL=$(nc -w 10 srv.test {0})",
      allowed.port(), other.port());
  spec.guest.argv = {"/bin/sh", "-c", script};

  UniqueFd out(::open((work / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  UniqueFd err(::open((work / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  UniqueFd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  vm::Vm machine = vm::Vm::start(spec);
  frames.reset();  // QEMU has its copy
  vm::AttachOptions attach;
  attach.in = in.get();
  attach.out = out.get();
  attach.err = err.get();
  attach.handle_signals = false;
  attach.boot_timeout = spec.boot_timeout;
  int code = vm::run_attached(machine, attach);
  std::string output = slurp(work / "out");
  std::string errors = slurp(work / "err");
  std::string counters = network.counters().to_json().dump();
  SCOPED_TRACE("guest stdout:\n" + output + "\nguest stderr:\n" + errors + "\ncounters: " + counters +
               "\nconsole tail:\n" + slurp(work / "console.log").substr(0, 4000));
  EXPECT_EQ(code, 0);
  EXPECT_NE(output.find("inet 10.0.2.15/24"), std::string::npos);
  EXPECT_NE(output.find("default via 10.0.2.2"), std::string::npos);
  EXPECT_NE(output.find("nameserver 10.0.2.3"), std::string::npos);
  EXPECT_NE(output.find(fmt::format("ALLOWED=hello {}", allowed.port())), std::string::npos);
  EXPECT_NE(output.find("OTHER_PORT=0"), std::string::npos);
  EXPECT_NE(output.find("NSLOOKUP_RC=1"), std::string::npos);
  EXPECT_NE(output.find(fmt::format("AFTER_RENEWAL=hello {}", allowed.port())), std::string::npos);
  EXPECT_EQ(other.connections(), 0);
  EXPECT_EQ(allowed.connections(), 2);
  auto c = network.counters();
  EXPECT_GE(counter(c.denied, "port"), 1u);
  EXPECT_GE(counter(c.denied, "dns_name"), 1u);
  EXPECT_GE(counter(c.allowed, "dhcp"), 3u) << "DISCOVER + REQUEST + at least one renewal";
}

}  // namespace
}  // namespace mcpvm::net
