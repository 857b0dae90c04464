// Guest->host TCP throughput and connection rate through mcpvm's UserNetwork (filter + libslirp) vs
// QEMU's built-in `-netdev user` (the same libslirp, driven by QEMU's main loop), measured in the same
// run with the same guest: a network namespace whose eth0 (a tap) is relayed to a QEMU-framed stream
// socket (bin/net_guest_ns). For QEMU, `qemu-system-x86_64 -M none` bridges that socket to its user
// netdev through a hub (-netdev socket,fd=3 + hubport), so no CPU is emulated and only the network
// paths differ. Servers listen on 127.0.0.1 only; the guest reaches them as 10.0.2.2.
//
//   net_bench BIN_DIR [MEGABYTES] [CONNECTIONS] [ROUNDS]        -> JSON on stdout
//   net_bench vm SOURCE_DIR [MEGABYTES] [CONNECTIONS] [ROUNDS]  -> the same in a TCG microVM (see bench_vm)
//   net_bench client-throughput IP PORT MEGABYTES             (runs inside the namespace)
//   net_bench client-connect IP PORT COUNT                    (runs inside the namespace)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "net/user_network.h"
#include "util/error.h"
#include "util/process.h"
#include "vm/accel.h"
#include "vm/attach.h"
#include "vm/vm.h"

namespace {

using namespace mcpvm;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

UniqueFd tcp_socket() {
  return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

sockaddr_in address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool connect_to(int fd, const std::string& ip, uint16_t port) {
  auto a = address(ip, port);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

int client_throughput(const std::string& ip, uint16_t port, size_t megabytes) {
  UniqueFd fd = tcp_socket();
  if (!connect_to(fd.get(), ip, port)) fail_errno("connecting to {}:{}", ip, port);
  std::vector<char> chunk(1 << 16, 'x');
  for (size_t sent = 0; sent < megabytes << 20;) {
    ssize_t n = ::send(fd.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) fail_errno("sending");
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd.get(), SHUT_WR);
  char c;
  while (::read(fd.get(), &c, 1) > 0) {
  }
  return 0;
}

int client_connect(const std::string& ip, uint16_t port, int count) {
  for (int i = 0; i < count; ++i) {
    UniqueFd fd = tcp_socket();
    if (!connect_to(fd.get(), ip, port)) fail_errno("connection {} to {}:{}", i, ip, port);
    char c;
    while (::read(fd.get(), &c, 1) > 0) {  // the server closes first: no TIME_WAIT pile-up on our side
    }
  }
  return 0;
}

// 127.0.0.1 servers: a sink (counts bytes until EOF) and an acceptor (closes at once).
class Server {
 public:
  // expected: a sink closes the connection after this many bytes (busybox nc waits for that).
  explicit Server(bool sink, size_t expected = SIZE_MAX)
      : sink_(sink), expected_(expected), fd_(tcp_socket()) {
    int one = 1;
    setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto a = address("127.0.0.1", 0);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_.get(), 128) != 0)
      fail_errno("listening on 127.0.0.1");
    socklen_t len = sizeof a;
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }
  // Seconds from the first accept to the end of the last connection handled, and how many there were.
  std::pair<double, int> span() const {
    std::lock_guard lock(mutex_);
    return {std::chrono::duration<double>(last_ - first_).count(), count_};
  }
  void reset() {
    std::lock_guard lock(mutex_);
    count_ = 0;
  }

 private:
  void serve() {
    std::vector<char> buffer(1 << 16);
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) continue;
      auto accepted = Clock::now();
      size_t got = 0;
      ssize_t n = 0;
      while (sink_ && got < expected_ && (n = ::read(c.get(), buffer.data(), buffer.size())) > 0)
        got += size_t(n);
      std::lock_guard lock(mutex_);
      if (count_++ == 0) first_ = accepted;
      last_ = Clock::now();
    }
  }
  bool sink_;
  size_t expected_;
  mutable std::mutex mutex_;
  Clock::time_point first_, last_;
  int count_ = 0;
  UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Our stack as the benchmark uses it: an allowlist (so the filter does its full work per connection) that
// admits the host's loopback under the name bench.test.
std::unique_ptr<net::UserNetwork> bench_network() {
  net::UserNetworkConfig config;
  config.policy = net::EgressPolicy::allowlist({"bench.test"}, {});
  config.policy.allow_host_loopback = true;
  config.hosts = {{"bench.test", 0x0a000202}};
  return std::make_unique<net::UserNetwork>(config);
}

// One guest namespace attached to one backend.
class Backend {
 public:
  Backend(const std::string& bin_dir, const std::string& kind) : bin_dir_(bin_dir) {
    UniqueFd guest_end;
    if (kind == "mcpvm") {
      network_ = bench_network();
      guest_end = network_->take_guest_fd();
    } else {
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) fail_errno("socketpair");
      UniqueFd qemu_end(pair[1]);
      guest_end.reset(pair[0]);
      SpawnOptions o;
      o.fds = {{qemu_end.get(), 3}};
      o.stdin_null = true;
      o.stderr_null = true;  // "hub 0 with no nics", "terminating on signal 15": expected here
      qemu_ =
          Subprocess::spawn({"qemu-system-x86_64", "-M", "none", "-nodefaults", "-display", "none", "-netdev",
                             "socket,id=s0,fd=3", "-netdev", "user,id=u0", "-netdev",
                             "hubport,id=h0,hubid=0,netdev=s0", "-netdev", "hubport,id=h1,hubid=0,netdev=u0"},
                            o);
    }
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) fail_errno("pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);
    SpawnOptions o;
    o.fds = {{guest_end.get(), 3}, {out_w.get(), 1}};
    guest_ = Subprocess::spawn({bin_dir + "/net_guest_ns", R"({"renew": false})"}, o);
    guest_end.reset();
    out_w.reset();
    std::string line;
    char c;
    pollfd p{out_r.get(), POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 30000) > 0 &&
           ::read(out_r.get(), &c, 1) == 1)
      line += c;
    if (!line.starts_with("READY ")) fail("{}: the namespace guest did not get a DHCP lease", kind);
  }
  ~Backend() {
    guest_.terminate(2s);
    if (qemu_.running()) qemu_.terminate(2s);
  }
  double run_client(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"nsenter", "-t", std::to_string(guest_.pid()),
                                     "-n",      "--", bin_dir_ + "/net_bench"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto start = Clock::now();
    auto r = run_command(argv, 5min);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!r.status.exited() || r.status.code() != 0) fail("bench client {}: {}", r.status.describe(), r.err);
    return seconds;
  }

 private:
  std::string bin_dir_;
  std::unique_ptr<net::UserNetwork> network_;
  Subprocess qemu_;
  Subprocess guest_;
};

// Alternates which side goes first, so a slow start or a burst of load on the shared host does not
// always fall on the same side.
std::vector<std::string> round_order(int round) {
  if (round % 2 == 0) return {"mcpvm", "qemu"};
  return {"qemu", "mcpvm"};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int bench(const std::string& bin_dir, size_t megabytes, int connections, int rounds) {
  Server sink(true), acceptor(false);
  nlohmann::json result = {{"setup",
                            "namespace guest (tap relayed to a QEMU-framed stream socket); servers on "
                            "host 127.0.0.1 reached as 10.0.2.2; mcpvm = UserNetwork with an allowlist "
                            "filter; qemu = qemu-system-x86_64 -M none, -netdev user via a hub"},
                           {"megabytes", megabytes},
                           {"connections", connections},
                           {"rounds", rounds}};
  std::map<std::string, std::vector<double>> mbps, cps;
  for (int round = 0; round < rounds; ++round) {
    for (std::string kind : round_order(round)) {
      Backend backend(bin_dir, kind);
      double t = backend.run_client(
          {"client-throughput", "10.0.2.2", std::to_string(sink.port()), std::to_string(megabytes)});
      mbps[kind].push_back(static_cast<double>(megabytes) * 8 / t);
      double c = backend.run_client(
          {"client-connect", "10.0.2.2", std::to_string(acceptor.port()), std::to_string(connections)});
      cps[kind].push_back(connections / c);
    }
  }
  for (std::string kind : {"mcpvm", "qemu"})
    result[kind] = {{"throughput_mbit_s", median(mbps[kind])},
                    {"connections_per_s", median(cps[kind])},
                    {"throughput_samples", mbps[kind]},
                    {"connection_samples", cps[kind]}};
  result["ratio_throughput"] = median(mbps["mcpvm"]) / median(mbps["qemu"]);
  result["ratio_connections"] = median(cps["mcpvm"]) / median(cps["qemu"]);
  std::cout << result.dump(2) << std::endl;
  return 0;
}

// The same comparison inside a TCG microVM: one busybox image, the guest uploads to a host sink and
// makes sequential connections; timing is taken on the host side (servers). "qemu" boots the identical
// VM through bench/net/qemu-user-net.sh, which swaps the socket netdev for QEMU's -netdev user.
double vm_round(const std::string& kind, const std::filesystem::path& rootfs, const std::string& source_dir,
                size_t megabytes, int connections, double& connections_per_s) {
  Server sink(true, megabytes << 20), acceptor(false);
  std::unique_ptr<net::UserNetwork> network;
  UniqueFd frames;
  vm::VmSpec spec;
  if (kind == "mcpvm") {
    network = bench_network();
    frames = network->take_guest_fd();
  } else {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) fail_errno("socketpair");
    frames.reset(pair[0]);
    ::close(pair[1]);  // nothing listens: the wrapper replaces the socket netdev
    spec.qemu_binary = source_dir + "/bench/net/qemu-user-net.sh";
  }
  spec.kernel = vm::find_kernel();
  spec.accel = vm::choose_accel(spec.kernel, "qemu-system-x86_64");
  spec.rootfs = rootfs;
  spec.boot_timeout = 180s;
  spec.network_fd = frames.get();
  spec.guest.network = {{"renew", false}};
  spec.guest.argv = {
      "/bin/sh", "-c",
      fmt::format("dd if=/dev/zero bs=65536 count={} 2>/dev/null | nc 10.0.2.2 {} >/dev/null; "
                  "i=0; while [ $i -lt {} ]; do nc 10.0.2.2 {} </dev/null >/dev/null; i=$((i+1)); done",
                  megabytes * 16, sink.port(), connections, acceptor.port())};
  vm::Vm machine = vm::Vm::start(spec);
  frames.reset();
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  vm::AttachOptions attach;
  attach.in = attach.out = attach.err = null_fd.get();
  attach.handle_signals = false;
  attach.boot_timeout = spec.boot_timeout;
  int code = vm::run_attached(machine, attach);
  auto [upload_s, uploads] = sink.span();
  auto [connect_s, connects] = acceptor.span();
  if (code != 0 || uploads != 1 || connects != connections)
    fail("{} VM: exit {}, {} uploads, {}/{} connections", kind, code, uploads, connects, connections);
  connections_per_s = (connections - 1) / connect_s;
  return static_cast<double>(megabytes) * 8 / upload_s;
}

int bench_vm(const std::string& source_dir, size_t megabytes, int connections, int rounds) {
  char dir_template[] = "/tmp/mcpvm-net-bench.XXXXXX";
  if (!::mkdtemp(dir_template)) fail_errno("mkdtemp");
  std::filesystem::path work = dir_template;
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{work};
  ::setenv("MCPVM_HOME", (work / "home").c_str(), 0);
  auto made = run_command(
      {"bash", source_dir + "/tests/fixtures/make-busybox-rootfs.sh", (work / "tree").string()}, 2min);
  auto squashed = run_command(
      {"mksquashfs", (work / "tree").string(), (work / "rootfs.sqfs").string(), "-noappend", "-quiet"}, 2min);
  if (made.status.code() != 0 || squashed.status.code() != 0)
    fail("building the bench rootfs: {}{}", made.err, squashed.err);
  std::map<std::string, std::vector<double>> mbps, cps;
  for (int round = 0; round < rounds; ++round)
    for (std::string kind : round_order(round)) {
      double rate = 0;
      mbps[kind].push_back(vm_round(kind, work / "rootfs.sqfs", source_dir, megabytes, connections, rate));
      cps[kind].push_back(rate);
    }
  nlohmann::json result = {
      {"setup",
       "TCG microVM, busybox image; guest dd|nc upload to a host 127.0.0.1 sink and "
       "sequential nc connects, timed on the host; mcpvm = -netdev socket to UserNetwork "
       "(allowlist filter); qemu = the same VM with -netdev user"},
      {"megabytes", megabytes},
      {"connections", connections},
      {"rounds", rounds}};
  for (std::string kind : {"mcpvm", "qemu"})
    result[kind] = {{"throughput_mbit_s", median(mbps[kind])},
                    {"connections_per_s", median(cps[kind])},
                    {"throughput_samples", mbps[kind]},
                    {"connection_samples", cps[kind]}};
  result["ratio_throughput"] = median(mbps["mcpvm"]) / median(mbps["qemu"]);
  result["ratio_connections"] = median(cps["mcpvm"]) / median(cps["qemu"]);
  std::cout << result.dump(2) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 4 && args[0] == "client-throughput")
      return client_throughput(args[1], static_cast<uint16_t>(std::stoi(args[2])), std::stoul(args[3]));
    if (args.size() == 4 && args[0] == "client-connect")
      return client_connect(args[1], static_cast<uint16_t>(std::stoi(args[2])), std::stoi(args[3]));
    if (args.size() >= 2 && args.size() <= 5 && args[0] == "vm")
      return bench_vm(args[1], args.size() > 2 ? std::stoul(args[2]) : 32,
                      args.size() > 3 ? std::stoi(args[3]) : 50, args.size() > 4 ? std::stoi(args[4]) : 2);
    if (args.size() >= 1 && args.size() <= 4 && !args[0].starts_with("client"))
      return bench(args[0], args.size() > 1 ? std::stoul(args[1]) : 256,
                   args.size() > 2 ? std::stoi(args[2]) : 300, args.size() > 3 ? std::stoi(args[3]) : 3);
    std::fprintf(stderr,
                 "usage: net_bench BIN_DIR [MEGABYTES] [CONNECTIONS] [ROUNDS]\n"
                 "       net_bench vm SOURCE_DIR [MEGABYTES] [CONNECTIONS] [ROUNDS]\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "net_bench: %s\n", e.what());
    return 1;
  }
}
