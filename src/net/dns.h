// The small part of DNS (RFC 1035) the runner speaks: parse a guest's query, build our answer.
// Queries are untrusted: one question only, names decoded with a bounded number of compression jumps
// (loops and forward pointers are errors), label and name lengths checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/packet.h"

namespace mcpvm::net {

constexpr uint16_t kDnsTypeA = 1;
constexpr uint16_t kDnsTypeAaaa = 28;
constexpr uint16_t kDnsClassIn = 1;
constexpr uint8_t kDnsNoError = 0, kDnsFormErr = 1, kDnsServFail = 2, kDnsNxDomain = 3, kDnsNotImp = 4,
                  kDnsRefused = 5;

struct DnsQuery {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<std::string> labels;  // as sent (case preserved, echoed back in the answer)
  std::string name;                 // lowercased, dot-joined, no trailing dot
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

struct DnsParseResult {
  std::optional<DnsQuery> query;
  std::optional<uint16_t> id;   // set when at least the header was readable (to answer FORMERR/NOTIMP)
  uint8_t rcode = kDnsFormErr;  // what to answer when query is empty
  std::string error;
};

// Reads a (possibly compressed) name at offset; advances offset past it in the original position.
// nullopt when malformed. Labels are returned as sent.
std::optional<std::vector<std::string>> read_dns_name(ByteView message, size_t& offset);

DnsParseResult parse_dns_query(ByteView message);

// Answer to a parsed query: rcode and, for NOERROR A queries, the addresses (each answered with ttl).
Bytes build_dns_response(const DnsQuery& query, uint8_t rcode, const std::vector<Ipv4>& addresses,
                         uint32_t ttl_seconds);
// Header-only answer (no question) for queries we could not parse.
Bytes build_dns_error(uint16_t id, uint8_t rcode);

}  // namespace mcpvm::net
