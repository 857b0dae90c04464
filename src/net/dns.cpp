#include "net/dns.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace mcpvm::net {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLength = 255;
constexpr int kMaxCompressionJumps = 16;
constexpr uint16_t kFlagQr = 0x8000, kFlagRd = 0x0100, kFlagRa = 0x0080;

bool valid_label_char(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_';
}

}  // namespace

std::optional<std::vector<std::string>> read_dns_name(ByteView msg, size_t& offset) {
  std::vector<std::string> labels;
  size_t pos = offset;
  size_t wire_length = 1;  // the final zero byte
  int jumps = 0;
  bool jumped = false;
  while (true) {
    if (pos >= msg.size()) return std::nullopt;
    uint8_t length = msg[pos];
    if ((length & 0xc0) == 0xc0) {
      if (pos + 1 >= msg.size() || ++jumps > kMaxCompressionJumps) return std::nullopt;
      size_t target = static_cast<size_t>(length & 0x3f) << 8 | msg[pos + 1];
      if (target >= pos) return std::nullopt;  // only backwards: forward pointers can loop
      if (!jumped) offset = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if ((length & 0xc0) != 0) return std::nullopt;  // 0x40/0x80: extended label types, unsupported
    if (length == 0) {
      if (!jumped) offset = pos + 1;
      return labels;
    }
    if (pos + 1 + length > msg.size()) return std::nullopt;
    wire_length += 1u + length;
    if (wire_length > kMaxNameLength) return std::nullopt;
    labels.emplace_back(reinterpret_cast<const char*>(msg.data() + pos + 1), length);
    pos += 1u + length;
  }
}

DnsParseResult parse_dns_query(ByteView msg) {
  DnsParseResult result;
  if (msg.size() < kHeaderSize) {
    result.error = "shorter than a DNS header";
    return result;
  }
  result.id = get_u16(msg, 0);
  uint16_t flags = get_u16(msg, 2);
  uint16_t questions = get_u16(msg, 4);
  if (flags & kFlagQr) {
    result.error = "a response, not a query";
    return result;
  }
  if (((flags >> 11) & 0xf) != 0) {
    result.rcode = kDnsNotImp;
    result.error = "opcode is not QUERY";
    return result;
  }
  if (questions != 1) {
    result.error = fmt::format("{} questions (exactly 1 supported)", questions);
    return result;
  }
  size_t offset = kHeaderSize;
  auto labels = read_dns_name(msg, offset);
  if (!labels || offset + 4 > msg.size()) {
    result.error = "malformed question";
    return result;
  }
  DnsQuery q;
  q.id = *result.id;
  q.flags = flags;
  q.qtype = get_u16(msg, offset);
  q.qclass = get_u16(msg, offset + 2);
  for (const auto& label : *labels) {
    if (!std::all_of(label.begin(), label.end(),
                     [](char c) { return valid_label_char(static_cast<unsigned char>(c)); })) {
      result.error = "name has characters outside letters, digits, '-' and '_'";
      return result;
    }
    if (!q.name.empty()) q.name += '.';
    std::transform(label.begin(), label.end(), std::back_inserter(q.name),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  }
  q.labels = std::move(*labels);
  result.query = std::move(q);
  return result;
}

Bytes build_dns_response(const DnsQuery& q, uint8_t rcode, const std::vector<Ipv4>& addresses, uint32_t ttl) {
  bool answer = rcode == kDnsNoError && q.qtype == kDnsTypeA && q.qclass == kDnsClassIn;
  size_t answers = answer ? std::min<size_t>(addresses.size(), 32) : 0;
  Bytes out;
  put_u16(out, q.id);
  put_u16(out, static_cast<uint16_t>(kFlagQr | (q.flags & kFlagRd) | kFlagRa | (rcode & 0xf)));
  put_u16(out, 1);
  put_u16(out, static_cast<uint16_t>(answers));
  put_u16(out, 0);
  put_u16(out, 0);
  for (const auto& label : q.labels) {
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
  }
  out.push_back(0);
  put_u16(out, q.qtype);
  put_u16(out, q.qclass);
  for (size_t i = 0; i < answers; ++i) {
    put_u16(out, 0xc000 | kHeaderSize);  // the name: a pointer to the question's
    put_u16(out, kDnsTypeA);
    put_u16(out, kDnsClassIn);
    put_u32(out, ttl);
    put_u16(out, 4);
    put_u32(out, addresses[i]);
  }
  return out;
}

Bytes build_dns_error(uint16_t id, uint8_t rcode) {
  Bytes out;
  put_u16(out, id);
  put_u16(out, static_cast<uint16_t>(kFlagQr | kFlagRa | (rcode & 0xf)));
  for (int i = 0; i < 4; ++i) put_u16(out, 0);
  return out;
}

}  // namespace mcpvm::net
