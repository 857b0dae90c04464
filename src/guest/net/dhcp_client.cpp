#include "guest/net/dhcp_client.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>
#include <random>
#include <stdexcept>

#include "util/backoff.h"

namespace mcpvm::guest::net {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail_sys(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

uint16_t checksum(const uint8_t* data, size_t size, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < size; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (size % 2) sum += static_cast<uint32_t>(data[size - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

// IPv4 + UDP (68 -> 67, to the broadcast address) around a DHCP message.
std::vector<uint8_t> wrap_udp(const std::vector<uint8_t>& dhcp, Ipv4 src) {
  std::vector<uint8_t> p(28 + dhcp.size(), 0);
  p[0] = 0x45;
  put16(&p[2], static_cast<uint16_t>(p.size()));
  p[8] = 64;
  p[9] = 17;
  put32(&p[12], src);
  put32(&p[16], 0xffffffff);
  put16(&p[10], checksum(p.data(), 20));
  put16(&p[20], 68);
  put16(&p[22], 67);
  put16(&p[24], static_cast<uint16_t>(8 + dhcp.size()));
  std::memcpy(&p[28], dhcp.data(), dhcp.size());
  uint32_t pseudo =
      (src >> 16) + (src & 0xffff) + 0xffff + 0xffff + 17 + static_cast<uint32_t>(8 + dhcp.size());
  uint16_t sum = checksum(&p[20], 8 + dhcp.size(), pseudo);
  put16(&p[26], sum == 0 ? 0xffff : sum);
  return p;
}

// The DHCP payload of an IPv4/UDP packet to port 68, or empty.
std::span<const uint8_t> dhcp_payload(std::span<const uint8_t> packet) {
  if (packet.size() < 28 || (packet[0] >> 4) != 4 || packet[9] != 17) return {};
  size_t ihl = static_cast<size_t>(packet[0] & 0x0f) * 4;
  size_t total = static_cast<size_t>(packet[2] << 8 | packet[3]);
  if (ihl < 20 || total > packet.size() || total < ihl + 8) return {};
  if ((packet[6] & 0x3f) != 0 || packet[7] != 0) return {};  // fragments
  auto udp = packet.subspan(ihl, total - ihl);
  size_t udp_length = static_cast<size_t>(udp[4] << 8 | udp[5]);
  if ((udp[2] << 8 | udp[3]) != 68 || udp_length < 8 || udp_length > udp.size()) return {};
  return udp.subspan(8, udp_length - 8);
}

uint32_t random_xid() {
  static std::mt19937 rng(std::random_device{}());
  return static_cast<uint32_t>(rng());
}

}  // namespace

DhcpLease lease_from_ack(const DhcpMessage& ack) {
  DhcpLease lease;
  lease.address = ack.yiaddr;
  lease.prefix = netmask_prefix(ack.subnet_mask ? ack.subnet_mask : 0xffffff00).value_or(24);
  lease.server = ack.server_id;
  lease.router = ack.routers.empty() ? 0 : ack.routers.front();
  lease.dns_servers = ack.dns_servers;
  lease.domain_name = ack.domain_name;
  lease.lease_seconds = ack.lease_seconds ? ack.lease_seconds : 3600;
  lease.renewal_seconds = ack.renewal_seconds && ack.renewal_seconds < lease.lease_seconds
                              ? ack.renewal_seconds
                              : lease.lease_seconds / 2;
  return lease;
}

DhcpClient::DhcpClient(const std::string& ifname, DhcpOptions options)
    : ifname_(ifname), options_(std::move(options)) {
  ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex_ == 0) fail_sys("DHCP: interface " + ifname);
  socket_.reset(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP)));
  if (!socket_) fail_sys("DHCP: packet socket");
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (::ioctl(socket_.get(), SIOCGIFHWADDR, &req) < 0) fail_sys("DHCP: hardware address of " + ifname);
  std::memcpy(mac_.data(), req.ifr_hwaddr.sa_data, 6);
  sockaddr_ll local{};
  local.sll_family = AF_PACKET;
  local.sll_protocol = htons(ETH_P_IP);
  local.sll_ifindex = ifindex_;
  if (::bind(socket_.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
    fail_sys("DHCP: binding to " + ifname);
}

void DhcpClient::send(const DhcpMessage& message, Ipv4 src_ip) {
  auto packet = wrap_udp(build_dhcp(message), src_ip);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_IP);
  to.sll_ifindex = ifindex_;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  if (::sendto(socket_.get(), packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) <
      0)
    fail_sys("DHCP: sending on " + ifname_);
}

std::optional<DhcpMessage> DhcpClient::receive(uint32_t xid, Clock::time_point deadline) {
  std::vector<uint8_t> buffer(2048);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd p{socket_.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno != EINTR) fail_sys("DHCP: poll");
    if (rc <= 0) continue;
    ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
    if (n <= 0) continue;
    auto payload = dhcp_payload(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
    if (payload.empty()) continue;
    auto m = parse_dhcp(payload);
    if (m && m->op == 2 && m->xid == xid && m->chaddr == mac_ && m->type) return m;
  }
}

DhcpMessage DhcpClient::request_message(DhcpType type, uint32_t xid) const {
  DhcpMessage m;
  m.op = 1;
  m.xid = xid;
  m.chaddr = mac_;
  m.type = type;
  m.hostname = options_.hostname;
  return m;
}

DhcpMessage DhcpClient::exchange(const DhcpMessage& message, Ipv4 src_ip, const char* what) {
  auto start = Clock::now();
  auto deadline = start + options_.timeout;
  Backoff backoff(options_.first_retry, options_.max_retry);
  DhcpType wanted = *message.type == DhcpType::discover ? DhcpType::offer : DhcpType::ack;
  while (Clock::now() < deadline) {
    DhcpMessage m = message;
    m.secs =
        static_cast<uint16_t>(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count());
    send(m, src_ip);
    auto until = std::min(deadline, Clock::now() + backoff.next());
    while (auto reply = receive(message.xid, until)) {
      if (*reply->type == wanted) return *reply;
      if (*reply->type == DhcpType::nak && wanted == DhcpType::ack)
        throw std::runtime_error(std::string("DHCP: ") + what + ": the server refused (NAK)");
    }
  }
  throw std::runtime_error(std::string("DHCP: ") + what + " on " + ifname_ + ": no answer within " +
                           std::to_string(options_.timeout.count()) + " ms");
}

DhcpLease DhcpClient::acquire() {
  DhcpMessage discover = request_message(DhcpType::discover, random_xid());
  DhcpMessage offer = exchange(discover, 0, "DISCOVER");
  if (offer.yiaddr == 0) throw std::runtime_error("DHCP: the offer has no address");
  DhcpMessage request = request_message(DhcpType::request, discover.xid);
  request.requested_ip = offer.yiaddr;
  request.server_id = offer.server_id;
  DhcpMessage ack = exchange(request, 0, "REQUEST");
  return lease_from_ack(ack);
}

DhcpLease DhcpClient::renew(const DhcpLease& lease) {
  DhcpMessage request = request_message(DhcpType::request, random_xid());
  request.ciaddr = lease.address;
  request.requested_ip = lease.address;
  DhcpMessage ack = exchange(request, lease.address, "renewing the lease");
  if (ack.yiaddr != lease.address && ack.yiaddr != 0)
    throw std::runtime_error("DHCP: renewal offered a different address " + format_ip(ack.yiaddr));
  DhcpLease renewed = lease_from_ack(ack);
  renewed.address = lease.address;
  return renewed;
}

}  // namespace mcpvm::guest::net
