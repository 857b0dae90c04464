// A small DHCP client for the guest init: DISCOVER/OFFER/REQUEST/ACK over a raw packet socket (the
// interface has no address yet), retries with backoff, an overall timeout, and renewal of the lease.
#pragma once

#include <chrono>
#include <string>

#include "guest/net/dhcp_message.h"
#include "util/fd.h"

namespace mcpvm::guest::net {

struct DhcpLease {
  Ipv4 address = 0;
  int prefix = 24;
  Ipv4 server = 0;
  Ipv4 router = 0;
  std::vector<Ipv4> dns_servers;
  std::string domain_name;
  uint32_t lease_seconds = 0;
  uint32_t renewal_seconds = 0;  // T1
};

struct DhcpOptions {
  std::chrono::milliseconds timeout{15000};    // overall, for one acquisition
  std::chrono::milliseconds first_retry{500};  // doubles up to max_retry
  std::chrono::milliseconds max_retry{4000};
  std::string hostname;  // sent as option 12 when set
};

class DhcpClient {
 public:
  // ifname must exist and be up.
  DhcpClient(const std::string& ifname, DhcpOptions options);
  // DISCOVER -> OFFER -> REQUEST -> ACK. Throws std::runtime_error on timeout.
  DhcpLease acquire();
  // REQUEST for the current lease's address. Throws on NAK or timeout (the caller then acquires anew).
  DhcpLease renew(const DhcpLease& lease);
  int ifindex() const { return ifindex_; }

 private:
  void send(const DhcpMessage& message, Ipv4 src_ip);
  // Waits for a reply with our xid of one of the wanted types until deadline.
  std::optional<DhcpMessage> receive(uint32_t xid, std::chrono::steady_clock::time_point deadline);
  DhcpMessage request_message(DhcpType type, uint32_t xid) const;
  // Sends message (retrying with backoff) until a reply of the wanted kind arrives or the timeout.
  DhcpMessage exchange(const DhcpMessage& message, Ipv4 src_ip, const char* what);

  std::string ifname_;
  int ifindex_ = 0;
  Mac mac_{};
  DhcpOptions options_;
  UniqueFd socket_;
};

DhcpLease lease_from_ack(const DhcpMessage& ack);

}  // namespace mcpvm::guest::net
