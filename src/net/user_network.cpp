#include "net/user_network.h"

#include <arpa/inet.h>
#include <glib.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "net/dns.h"
#include "net/frame_stream.h"
#include "util/error.h"
#include "util/log.h"
#include "util/signal_mask.h"
#include "util/socket.h"

namespace mcpvm::net {

nlohmann::json NetworkCounters::to_json() const {
  return {{"allowed", allowed}, {"denied", denied}};
}

size_t count_slirp_flows(std::string_view listing) {
  size_t flows = 0;
  while (!listing.empty()) {
    size_t end = std::min(listing.find('\n'), listing.size());
    std::string_view line = listing.substr(0, end);
    listing.remove_prefix(std::min(end + 1, listing.size()));
    line.remove_prefix(std::min(line.find_first_not_of(' '), line.size()));
    bool socket = line.starts_with("TCP[") || line.starts_with("UDP[") || line.starts_with("ICMP[");
    if (socket && line.find("[HOST_FORWARD]") == std::string_view::npos) ++flows;
  }
  return flows;
}

namespace {

constexpr size_t kMaxPendingLookups = 64;
constexpr size_t kMaxOutputBuffer = 8 << 20;  // frames to the guest beyond this are dropped (TCP retransmits)
constexpr int kResolverThreads = 2;

in_addr to_in_addr(Ipv4 a) {
  return in_addr{htonl(a)};
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct SlirpTimer {
  SlirpTimerCb callback = nullptr;
  void* opaque = nullptr;
  int64_t expire_ms = -1;  // -1: not armed
};

struct LookupJob {
  DnsQuery query;
  Mac guest_mac{};
  Mac our_mac{};
  Ipv4 guest_ip = 0;
  uint16_t guest_port = 0;
};

struct LookupResult {
  LookupJob job;
  uint8_t rcode = kDnsServFail;
  std::vector<Ipv4> addresses;
};

// Host resolution of an allowed name (glibc: /etc/hosts, then the host's DNS).
LookupResult resolve_on_host(LookupJob job) {
  LookupResult result{std::move(job)};
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(result.job.query.name.c_str(), nullptr, &hints, &list);
  if (rc == EAI_NONAME) {
    result.rcode = kDnsNxDomain;
  } else if (rc == EAI_NODATA) {
    result.rcode = kDnsNoError;
  } else if (rc == 0) {
    result.rcode = kDnsNoError;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      Ipv4 a = ntohl(reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr);
      if (std::find(result.addresses.begin(), result.addresses.end(), a) == result.addresses.end())
        result.addresses.push_back(a);
    }
    freeaddrinfo(list);
  }
  return result;
}

// The host's IPv4 interface addresses: a guest connecting to one reaches the host's own services.
std::vector<Ipv4> host_interface_addresses() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) fail_errno("listing the host's interface addresses");
  std::vector<Ipv4> addresses;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next)
    if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_INET)
      addresses.push_back(ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr));
  ::freeifaddrs(list);
  return addresses;
}

// slirp's DHCP server always offers a 24h lease; tests shorten it to watch the guest renew.
void rewrite_dhcp_lease(Bytes& frame, uint32_t lease) {
  auto parsed = parse_frame(frame);
  if (!parsed || !parsed->ipv4 || !parsed->ports || parsed->ipv4->protocol != kProtoUdp ||
      parsed->ports->src_port != 67 || parsed->ports->dst_port != 68)
    return;
  size_t udp = 14 + parsed->ipv4->header_length;
  size_t options = udp + 8 + 236 + 4;  // BOOTP fixed part, magic cookie
  size_t end = udp + get_u16(frame, udp + 4);
  for (size_t i = options; i + 1 < end && frame[i] != 255;) {
    uint8_t code = frame[i];
    if (code == 0) {
      ++i;
      continue;
    }
    uint8_t length = frame[i + 1];
    if (i + 2 + length > end) return;
    uint32_t value = code == 51 ? lease : code == 58 ? lease / 2 : code == 59 ? lease * 7 / 8 : 0;
    if (value != 0 && length == 4)
      for (int b = 0; b < 4; ++b) frame[i + 2 + b] = static_cast<uint8_t>(value >> (24 - 8 * b));
    i += 2u + length;
  }
  frame[udp + 6] = frame[udp + 7] = 0;  // UDP checksum 0: "none" in IPv4
}

}  // namespace

struct UserNetwork::Impl {
  UserNetworkConfig config;
  EgressFilter filter;
  UniqueFd ours, theirs, wake;
  Slirp* slirp = nullptr;
  std::vector<std::unique_ptr<SlirpTimer>> timers;
  std::vector<pollfd> pollfds;
  FrameDecoder decoder;
  Bytes output;
  size_t output_sent = 0;  // bytes of output already written
  std::set<std::string> logged;

  mutable std::mutex counters_mutex;
  NetworkCounters counters;

  std::mutex lookup_mutex;
  std::condition_variable lookup_cv;
  std::deque<LookupJob> lookups;
  std::vector<LookupResult> results;
  bool stopping = false;
  std::vector<std::thread> resolvers;
  std::thread loop;

  explicit Impl(UserNetworkConfig c)
      : config(std::move(c)), filter(config.policy, VirtualNetwork{}, host_interface_addresses()) {
    // The guest's /etc/hosts carries the --add-host entries, so it may never ask us for them: an entry
    // whose name the policy allows is admitted from the start, for the VM's lifetime. The user wrote
    // that address, so it is reachable even when private (db:10.0.0.5); a name the policy does not
    // allow admits nothing.
    for (const auto& h : config.hosts)
      if (config.policy.host_allowed(h.name)) filter.admit_declared(h.address);
  }

  // --- counters and logging ---
  void count(bool allowed, const std::string& key) {
    if (key.empty()) return;
    std::lock_guard lock(counters_mutex);
    ++(allowed ? counters.allowed : counters.denied)[key];
  }
  void log_denied_once(const std::string& what) {
    if (logged.size() < 4096 && logged.insert(what).second) log::warn("network: denied {}", what);
  }

  // --- output to the guest ---
  void send_to_guest(ByteView frame) {
    if (output.size() - output_sent > kMaxOutputBuffer) return;
    if (output_sent > 0 && output_sent >= output.size() / 2) {  // compact now and then, not per write
      output.erase(output.begin(), output.begin() + static_cast<std::ptrdiff_t>(output_sent));
      output_sent = 0;
    }
    if (config.dhcp_lease_seconds != 0 && frame.size() > 14 + 20 + 8 + 240) {
      Bytes copy(frame.begin(), frame.end());
      rewrite_dhcp_lease(copy, config.dhcp_lease_seconds);
      append_frame(output, copy);
    } else {
      append_frame(output, frame);
    }
    flush_output();
  }
  bool output_pending() const { return output.size() > output_sent; }
  void flush_output() {
    while (output_pending()) {
      ssize_t n = ::send(ours.get(), output.data() + output_sent, output.size() - output_sent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {  // the guest side is gone
          output.clear();
          output_sent = 0;
        }
        return;
      }
      output_sent += static_cast<size_t>(n);
    }
    output.clear();
    output_sent = 0;
  }

  // --- guest frames ---
  void on_guest_frame(ByteView bytes) {
    auto frame = parse_frame(bytes);
    if (!frame) {
      count(false, "malformed");
      return;
    }
    Verdict v = filter.inspect(*frame, Clock::now());
    if (v.action == Action::pass && v.opens_flow && at_flow_cap())
      v = {Action::drop, "flow_cap", v.dst, v.dst_port};
    switch (v.action) {
      case Action::pass:
        count(true, v.reason);
        slirp_input(slirp, bytes.data(), static_cast<int>(bytes.size()));
        return;
      case Action::answer_dns:
        answer_dns(*frame);
        return;
      case Action::drop:
        deny(*frame, v);
        return;
    }
  }

  void deny(const Frame& frame, const Verdict& v) {
    count(false, v.reason);
    if (v.dst != 0) log_denied_once(fmt::format("{}:{} ({})", format_ipv4(v.dst), v.dst_port, v.reason));
    // A denied connect fails at once (ECONNREFUSED) rather than after the guest's SYN retries.
    if (frame.ports && frame.ipv4->protocol == kProtoTcp && (frame.ports->tcp_flags & kTcpSyn) &&
        !(frame.ports->tcp_flags & kTcpAck))
      send_to_guest(build_tcp_reset(frame));
  }

  // Whether slirp already holds config.max_guest_flows host sockets. Asked per new flow, never per
  // segment: listing slirp's sockets costs a few microseconds per socket. At the cap a UDP datagram is
  // refused even for a flow slirp already has (slirp does not tell which datagrams open sockets).
  bool at_flow_cap() {
    char* listing = slirp_connection_info(slirp);
    size_t flows = listing ? count_slirp_flows(listing) : 0;
    g_free(listing);
    return flows >= config.max_guest_flows;
  }

  void reply_dns(const LookupJob& job, ByteView payload) {
    send_to_guest(build_udp_frame(UdpDatagram{job.our_mac, job.guest_mac, filter.vnet().dns, job.guest_ip, 53,
                                              job.guest_port, payload}));
  }

  void answer_dns(const Frame& frame) {
    LookupJob job;
    job.guest_mac = frame.ethernet.src;
    job.our_mac = frame.ethernet.dst;
    job.guest_ip = frame.ipv4->src;
    job.guest_port = frame.ports->src_port;
    auto parsed = parse_dns_query(frame.udp_payload);
    if (!parsed.query) {
      count(false, "dns_malformed");
      if (parsed.id) reply_dns(job, build_dns_error(*parsed.id, parsed.rcode));
      return;
    }
    job.query = std::move(*parsed.query);
    const DnsQuery& q = job.query;
    if (!filter.policy().host_allowed(q.name)) {
      count(false, "dns_name");
      log_denied_once(fmt::format("DNS name {} (not allowed: answered NXDOMAIN, not resolved)", q.name));
      reply_dns(job, build_dns_response(q, kDnsNxDomain, {}, 0));
      return;
    }
    if (q.qclass != kDnsClassIn || q.qtype != kDnsTypeA) {
      // IPv6 is off and we only relay addresses: other record types get an empty answer.
      count(true, "dns_empty");
      reply_dns(job, build_dns_response(q, kDnsNoError, {}, 0));
      return;
    }
    auto host = std::find_if(config.hosts.begin(), config.hosts.end(),
                             [&](const HostEntry& h) { return h.name == q.name; });
    if (host != config.hosts.end()) {
      finish_lookup(LookupResult{std::move(job), kDnsNoError, {host->address}});
      return;
    }
    std::lock_guard lock(lookup_mutex);
    if (lookups.size() >= kMaxPendingLookups) {
      count(false, "dns_overload");
      reply_dns(job, build_dns_response(q, kDnsServFail, {}, 0));
      return;
    }
    lookups.push_back(std::move(job));
    lookup_cv.notify_one();
  }

  // A host-resolved answer may name the LAN or the host (a hostile or split-horizon DNS server): those
  // addresses are neither relayed nor learned. With none left the guest gets NOERROR without addresses
  // (NODATA, as for AAAA): the name exists, only its addresses are withheld.
  void drop_unreachable_addresses(LookupResult& r) {
    auto reachable = filter.relayable(r.addresses);
    if (reachable.size() == r.addresses.size()) return;
    count(false, "dns_private_address");
    log_denied_once(fmt::format("DNS answer for {}: private or host addresses withheld", r.job.query.name));
    r.addresses = std::move(reachable);
  }

  void finish_lookup(const LookupResult& r) {
    auto expiry = Clock::now() + std::max<std::chrono::seconds>(std::chrono::seconds(config.dns_answer_ttl),
                                                                config.admission_ttl);
    for (Ipv4 a : r.addresses) filter.learn(a, expiry);
    if (r.rcode != kDnsNoError)
      count(false, "dns_failed");
    else
      count(true, r.addresses.empty() ? "dns_empty" : "dns_answer");
    reply_dns(r.job, build_dns_response(r.job.query, r.rcode, r.addresses, config.dns_answer_ttl));
  }

  void resolver_main() {
    std::unique_lock lock(lookup_mutex);
    while (true) {
      lookup_cv.wait(lock, [&] { return stopping || !lookups.empty(); });
      if (stopping) return;
      LookupJob job = std::move(lookups.front());
      lookups.pop_front();
      lock.unlock();
      LookupResult result = resolve_on_host(std::move(job));
      lock.lock();
      results.push_back(std::move(result));
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(wake.get(), &one, sizeof one);
    }
  }

  void drain_results() {
    std::vector<LookupResult> done;
    {
      std::lock_guard lock(lookup_mutex);
      done.swap(results);
    }
    for (auto& r : done) {
      drop_unreachable_addresses(r);
      finish_lookup(r);
    }
  }

  // --- the loop ---
  bool read_guest() {
    uint8_t buffer[65536];
    while (true) {
      ssize_t n = ::recv(ours.get(), buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      decoder.feed(ByteView(buffer, static_cast<size_t>(n)), [&](ByteView f) { on_guest_frame(f); });
    }
  }

  int next_timer_ms(int64_t now_ms, uint32_t slirp_timeout) const {
    int64_t timeout = slirp_timeout;
    for (const auto& t : timers)
      if (t->expire_ms >= 0)
        timeout = std::min<int64_t>(timeout, std::max<int64_t>(0, t->expire_ms - now_ms));
    return static_cast<int>(std::min<int64_t>(timeout, 1000));
  }

  void fire_timers() {
    int64_t now_ms = now_ns() / 1000000;
    for (size_t i = 0; i < timers.size(); ++i) {  // callbacks may add timers: index, not iterators
      SlirpTimer* t = timers[i].get();
      if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
        t->expire_ms = -1;
        t->callback(t->opaque);
      }
    }
  }

  void run() {
    auto last_gc = Clock::now();
    while (true) {
      pollfds.clear();
      pollfds.push_back({ours.get(), static_cast<short>(POLLIN | (output_pending() ? POLLOUT : 0)), 0});
      pollfds.push_back({wake.get(), POLLIN, 0});
      uint32_t slirp_timeout = 1000;
      slirp_pollfds_fill(slirp, &slirp_timeout, &Impl::add_poll, this);
      int rc = ::poll(pollfds.data(), pollfds.size(), next_timer_ms(now_ns() / 1000000, slirp_timeout));
      if (rc < 0 && errno != EINTR) log::error("network: poll: {}", std::strerror(errno));
      slirp_pollfds_poll(slirp, rc < 0, &Impl::get_revents, this);
      if (rc > 0 && (pollfds[1].revents & POLLIN)) {
        uint64_t value;
        [[maybe_unused]] ssize_t n = ::read(wake.get(), &value, sizeof value);
        std::lock_guard lock(lookup_mutex);
        if (stopping) return;
      }
      drain_results();
      if (rc > 0 && (pollfds[0].revents & POLLOUT)) flush_output();
      if (rc > 0 && (pollfds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (!read_guest()) {
          log::info("network: the guest side closed; stopping the network");
          return;
        }
      }
      fire_timers();
      if (Clock::now() - last_gc > std::chrono::seconds(30)) {
        filter.forget_expired(Clock::now());
        last_gc = Clock::now();
      }
    }
  }

  // --- slirp callbacks ---
  static int add_poll(int fd, int events, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    short e = 0;
    if (events & SLIRP_POLL_IN) e |= POLLIN;
    if (events & SLIRP_POLL_OUT) e |= POLLOUT;
    if (events & SLIRP_POLL_PRI) e |= POLLPRI;
    if (events & SLIRP_POLL_ERR) e |= POLLERR;
    if (events & SLIRP_POLL_HUP) e |= POLLHUP;
    self->pollfds.push_back({fd, e, 0});
    return static_cast<int>(self->pollfds.size() - 1);
  }
  static int get_revents(int idx, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (idx < 0 || static_cast<size_t>(idx) >= self->pollfds.size()) return 0;
    short r = self->pollfds[static_cast<size_t>(idx)].revents;
    int e = 0;
    if (r & POLLIN) e |= SLIRP_POLL_IN;
    if (r & POLLOUT) e |= SLIRP_POLL_OUT;
    if (r & POLLPRI) e |= SLIRP_POLL_PRI;
    if (r & POLLERR) e |= SLIRP_POLL_ERR;
    if (r & POLLHUP) e |= SLIRP_POLL_HUP;
    return e;
  }
  static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    static_cast<Impl*>(opaque)->send_to_guest(ByteView(static_cast<const uint8_t*>(buf), len));
    return static_cast<ssize_t>(len);
  }
  static void guest_error(const char* msg, void*) { log::warn("network: guest error: {}", msg); }
  static int64_t clock_get_ns(void*) { return now_ns(); }
  static void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    self->timers.push_back(std::make_unique<SlirpTimer>(SlirpTimer{cb, cb_opaque, -1}));
    return self->timers.back().get();
  }
  static void timer_free(void* timer, void* opaque) {
    std::erase_if(static_cast<Impl*>(opaque)->timers, [&](const auto& t) { return t.get() == timer; });
  }
  static void timer_mod(void* timer, int64_t expire_ms, void*) {
    static_cast<SlirpTimer*>(timer)->expire_ms = expire_ms;
  }
  static void register_poll_fd(int, void*) {}
  static void unregister_poll_fd(int, void*) {}
  static void notify(void*) {}

  void start_slirp() {
    static const SlirpCb callbacks = {
        .send_packet = &Impl::send_packet,
        .guest_error = &Impl::guest_error,
        .clock_get_ns = &Impl::clock_get_ns,
        .timer_new = &Impl::timer_new,
        .timer_free = &Impl::timer_free,
        .timer_mod = &Impl::timer_mod,
        .register_poll_fd = &Impl::register_poll_fd,
        .unregister_poll_fd = &Impl::unregister_poll_fd,
        .notify = &Impl::notify,
    };
    const VirtualNetwork& v = filter.vnet();
    SlirpConfig cfg{};
    cfg.version = 3;
    cfg.in_enabled = true;
    cfg.vnetwork = to_in_addr(v.network);
    cfg.vnetmask = to_in_addr(v.netmask);
    cfg.vhost = to_in_addr(v.gateway);
    cfg.in6_enabled = false;  // IPv6 is off: the filter drops every IPv6 frame
    cfg.vdhcp_start = to_in_addr(v.guest);
    cfg.vnameserver = to_in_addr(v.dns);
    cfg.disable_host_loopback = !config.policy.allow_host_loopback;  // defence in depth
    cfg.disable_dns = true;  // we answer DNS; slirp must never forward it
    slirp = slirp_new(&cfg, &callbacks, this);
    if (slirp == nullptr) fail("starting the user-mode network (slirp_new failed)");
    for (const auto& f : config.forwards) {
      if (!f.host_unix_path.empty()) {
        add_unix_forward(f);
        continue;
      }
      if (slirp_add_hostfwd(slirp, 0, to_in_addr(f.host_address), f.host_port, to_in_addr(v.guest),
                            f.guest_port) < 0)
        fail("port forward {}:{} -> guest port {}: cannot listen on {}:{} (in use?)",
             format_ipv4(f.host_address), f.host_port, f.guest_port, format_ipv4(f.host_address),
             f.host_port);
    }
  }

  void add_unix_forward(const PortForward& f) {
    sockaddr_un host{};
    host.sun_family = AF_UNIX;
    if (f.host_unix_path.size() >= sizeof host.sun_path)
      fail("forward socket path {} is too long for a Unix socket", f.host_unix_path);
    std::memcpy(host.sun_path, f.host_unix_path.c_str(), f.host_unix_path.size() + 1);
    struct stat st {};
    if (::lstat(host.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
      ::unlink(host.sun_path);  // a previous boot's
    sockaddr_in guest{};
    guest.sin_family = AF_INET;
    guest.sin_port = htons(f.guest_port);
    guest.sin_addr = to_in_addr(filter.vnet().guest);
    if (slirp_add_hostxfwd(slirp, reinterpret_cast<sockaddr*>(&host), sizeof host,
                           reinterpret_cast<sockaddr*>(&guest), sizeof guest, 0) < 0)
      fail_errno("forward {} -> guest port {}: cannot listen on the Unix socket", f.host_unix_path,
                 f.guest_port);
  }
};

UserNetwork::UserNetwork(UserNetworkConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  Impl& i = *impl_;
  std::tie(i.ours, i.theirs) = with_context("the network's socket pair", [] { return stream_socketpair(); });
  int buffer = 1 << 20;
  setsockopt(i.ours.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  setsockopt(i.ours.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  i.wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!i.wake) fail_errno("creating an eventfd");
  try {
    i.start_slirp();
  } catch (...) {
    if (i.slirp) slirp_cleanup(i.slirp);
    throw;
  }
  ScopedBlockAllSignals helper_threads_take_no_signals;
  for (int t = 0; t < kResolverThreads; ++t) i.resolvers.emplace_back([&i] { i.resolver_main(); });
  i.loop = std::thread([&i] { i.run(); });
}

UserNetwork::~UserNetwork() {
  Impl& i = *impl_;
  {
    std::lock_guard lock(i.lookup_mutex);
    i.stopping = true;
  }
  i.lookup_cv.notify_all();
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(i.wake.get(), &one, sizeof one);
  if (i.loop.joinable()) i.loop.join();
  // A resolver stuck in getaddrinfo finishes its lookup first (bounded by resolv.conf's timeouts).
  for (auto& t : i.resolvers) t.join();
  slirp_cleanup(i.slirp);
}

UniqueFd UserNetwork::take_guest_fd() {
  if (!impl_->theirs) fail("the network's guest socket was already handed out");
  return std::move(impl_->theirs);
}

NetworkCounters UserNetwork::counters() const {
  std::lock_guard lock(impl_->counters_mutex);
  return impl_->counters;
}

const VirtualNetwork& UserNetwork::vnet() const {
  return impl_->filter.vnet();
}

}  // namespace mcpvm::net
