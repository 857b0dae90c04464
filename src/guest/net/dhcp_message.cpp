#include "guest/net/dhcp_message.h"

#include <algorithm>

namespace mcpvm::guest::net {
namespace {

constexpr size_t kFixedSize = 236;
constexpr uint32_t kMagicCookie = 0x63825363;
enum Option : uint8_t {
  kPad = 0,
  kSubnetMask = 1,
  kRouter = 3,
  kDns = 6,
  kHostname = 12,
  kDomainName = 15,
  kRequestedIp = 50,
  kLeaseTime = 51,
  kMessageType = 53,
  kServerId = 54,
  kParameterList = 55,
  kRenewalTime = 58,
  kRebindingTime = 59,
  kClientId = 61,
  kEnd = 255,
};

void put8(std::vector<uint8_t>& out, uint8_t v) {
  out.push_back(v);
}
void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}
uint32_t get32(std::span<const uint8_t> d, size_t o) {
  return static_cast<uint32_t>(d[o]) << 24 | static_cast<uint32_t>(d[o + 1]) << 16 |
         static_cast<uint32_t>(d[o + 2]) << 8 | d[o + 3];
}
void put_option32(std::vector<uint8_t>& out, uint8_t code, uint32_t value) {
  if (value == 0) return;
  put8(out, code);
  put8(out, 4);
  put32(out, value);
}

// Reads a list of IPv4 addresses from an option body (length a multiple of 4, at least 4).
bool read_addresses(std::span<const uint8_t> body, std::vector<Ipv4>& out) {
  if (body.empty() || body.size() % 4 != 0) return false;
  for (size_t i = 0; i < body.size(); i += 4) out.push_back(get32(body, i));
  return true;
}

bool read_u32(std::span<const uint8_t> body, uint32_t& out) {
  if (body.size() != 4) return false;
  out = get32(body, 0);
  return true;
}

std::string printable(std::span<const uint8_t> body) {
  std::string s;
  for (uint8_t c : body)
    if (c >= 0x21 && c < 0x7f) s.push_back(static_cast<char>(c));
  return s;
}

bool apply_option(uint8_t code, std::span<const uint8_t> body, DhcpMessage& m) {
  switch (code) {
    case kMessageType:
      if (body.size() != 1 || body[0] < 1 || body[0] > 7) return false;
      m.type = static_cast<DhcpType>(body[0]);
      return true;
    case kSubnetMask:
      return read_u32(body, m.subnet_mask);
    case kServerId:
      return read_u32(body, m.server_id);
    case kRequestedIp:
      return read_u32(body, m.requested_ip);
    case kLeaseTime:
      return read_u32(body, m.lease_seconds);
    case kRenewalTime:
      return read_u32(body, m.renewal_seconds);
    case kRebindingTime:
      return read_u32(body, m.rebinding_seconds);
    case kRouter:
      return read_addresses(body, m.routers);
    case kDns:
      return read_addresses(body, m.dns_servers);
    case kHostname:
      m.hostname = printable(body);
      return true;
    case kDomainName:
      m.domain_name = printable(body);
      return true;
    default:
      return true;  // options we do not use are skipped
  }
}

}  // namespace

std::vector<uint8_t> build_dhcp(const DhcpMessage& m) {
  std::vector<uint8_t> out;
  out.reserve(300);
  put8(out, m.op);
  put8(out, 1);  // htype ethernet
  put8(out, 6);  // hlen
  put8(out, 0);  // hops
  put32(out, m.xid);
  put16(out, m.secs);
  put16(out, m.broadcast ? 0x8000 : 0);
  put32(out, m.ciaddr);
  put32(out, m.yiaddr);
  put32(out, m.siaddr);
  put32(out, 0);  // giaddr
  out.insert(out.end(), m.chaddr.begin(), m.chaddr.end());
  out.resize(kFixedSize, 0);  // rest of chaddr, sname, file
  put32(out, kMagicCookie);
  if (m.type) {
    put8(out, kMessageType);
    put8(out, 1);
    put8(out, static_cast<uint8_t>(*m.type));
  }
  put8(out, kClientId);
  put8(out, 7);
  put8(out, 1);
  out.insert(out.end(), m.chaddr.begin(), m.chaddr.end());
  put_option32(out, kRequestedIp, m.requested_ip);
  put_option32(out, kServerId, m.server_id);
  if (m.op == 1) {
    const uint8_t wanted[] = {kSubnetMask, kRouter,      kDns,          kDomainName,
                              kLeaseTime,  kRenewalTime, kRebindingTime};
    put8(out, kParameterList);
    put8(out, sizeof wanted);
    out.insert(out.end(), std::begin(wanted), std::end(wanted));
  } else {
    put_option32(out, kSubnetMask, m.subnet_mask);
    put_option32(out, kLeaseTime, m.lease_seconds);
    for (auto [code, list] : {std::pair{kRouter, &m.routers}, std::pair{kDns, &m.dns_servers}}) {
      if (list->empty()) continue;
      put8(out, code);
      put8(out, static_cast<uint8_t>(std::min<size_t>(list->size(), 63) * 4));
      for (size_t i = 0; i < list->size() && i < 63; ++i) put32(out, (*list)[i]);
    }
  }
  if (!m.hostname.empty() && m.hostname.size() < 256) {
    put8(out, kHostname);
    put8(out, static_cast<uint8_t>(m.hostname.size()));
    out.insert(out.end(), m.hostname.begin(), m.hostname.end());
  }
  put8(out, kEnd);
  if (out.size() < 300) out.resize(300, 0);  // BOOTP minimum; some servers drop shorter messages
  return out;
}

std::optional<DhcpMessage> parse_dhcp(std::span<const uint8_t> d) {
  if (d.size() < kFixedSize + 4 || d[1] != 1 || d[2] != 6 || get32(d, kFixedSize) != kMagicCookie)
    return std::nullopt;
  DhcpMessage m;
  m.op = d[0];
  if (m.op != 1 && m.op != 2) return std::nullopt;
  m.xid = get32(d, 4);
  m.secs = static_cast<uint16_t>(d[8] << 8 | d[9]);
  m.broadcast = (d[10] & 0x80) != 0;
  m.ciaddr = get32(d, 12);
  m.yiaddr = get32(d, 16);
  m.siaddr = get32(d, 20);
  std::copy_n(d.begin() + 28, 6, m.chaddr.begin());
  for (size_t i = kFixedSize + 4; i < d.size();) {
    uint8_t code = d[i];
    if (code == kEnd) break;
    if (code == kPad) {
      ++i;
      continue;
    }
    if (i + 1 >= d.size()) return std::nullopt;
    size_t length = d[i + 1];
    if (i + 2 + length > d.size()) return std::nullopt;
    if (!apply_option(code, d.subspan(i + 2, length), m)) return std::nullopt;
    i += 2 + length;
  }
  return m;
}

std::optional<int> netmask_prefix(Ipv4 mask) {
  int bits = 0;
  while (bits < 32 && (mask & (0x80000000u >> bits))) ++bits;
  if (bits < 32 && (mask << bits) != 0) return std::nullopt;
  return bits;
}

std::string format_ip(Ipv4 a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

}  // namespace mcpvm::guest::net
