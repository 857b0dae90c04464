#include "guest/net/netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/fd.h"

namespace mcpvm::guest::net {
namespace {

[[noreturn]] void fail_sys(const std::string& what, int error) {
  throw std::runtime_error(what + ": " + std::strerror(error));
}

// Builds one netlink request: header, fixed part, then attributes.
class Request {
 public:
  Request(uint16_t type, uint16_t flags, const void* fixed, size_t fixed_size) {
    buffer_.resize(NLMSG_SPACE(fixed_size));
    auto* h = header();
    h->nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(fixed_size));
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    h->nlmsg_seq = 1;
    std::memcpy(NLMSG_DATA(h), fixed, fixed_size);
  }
  void add_u32(uint16_t type, uint32_t value) { add(type, &value, sizeof value); }
  void add(uint16_t type, const void* data, size_t size) {
    size_t offset = NLMSG_ALIGN(header()->nlmsg_len);
    buffer_.resize(offset + RTA_SPACE(size));
    auto* rta = reinterpret_cast<rtattr*>(buffer_.data() + offset);
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    std::memcpy(RTA_DATA(rta), data, size);
    header()->nlmsg_len = static_cast<uint32_t>(offset + RTA_SPACE(size));
  }
  // Sends the request and waits for the kernel's acknowledgement.
  void execute(const std::string& what) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) fail_sys(what + ": netlink socket", errno);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd.get(), buffer_.data(), header()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
      fail_sys(what, errno);
    nlmsghdr reply[256];  // typed storage: the kernel's answer is properly aligned
    ssize_t n = ::recv(fd.get(), reply, sizeof reply, 0);
    if (n < 0) fail_sys(what, errno);
    // One request, so the first message is its acknowledgement (NLMSG_ERROR with error 0) or its error.
    if (NLMSG_OK(reply, static_cast<unsigned>(n)) && reply->nlmsg_type == NLMSG_ERROR &&
        reply->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
      int error = -static_cast<nlmsgerr*>(NLMSG_DATA(reply))->error;
      if (error != 0) fail_sys(what, error);
      return;
    }
    throw std::runtime_error(what + ": no acknowledgement from the kernel");
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }
  std::vector<char> buffer_;
};

}  // namespace

void set_link_up(int ifindex) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = ifindex;
  info.ifi_flags = IFF_UP;
  info.ifi_change = IFF_UP;
  Request(RTM_NEWLINK, 0, &info, sizeof info).execute("bringing up interface " + std::to_string(ifindex));
}

void add_address(int ifindex, Ipv4 address, int prefix) {
  ifaddrmsg msg{};
  msg.ifa_family = AF_INET;
  msg.ifa_prefixlen = static_cast<unsigned char>(prefix);
  msg.ifa_index = static_cast<unsigned>(ifindex);
  Request r(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &msg, sizeof msg);
  uint32_t a = htonl(address);
  r.add(IFA_LOCAL, &a, 4);
  r.add(IFA_ADDRESS, &a, 4);
  uint32_t broadcast = htonl(address | (prefix >= 32 ? 0 : (0xffffffffu >> prefix)));
  r.add(IFA_BROADCAST, &broadcast, 4);
  r.execute("adding address " + format_ip(address) + "/" + std::to_string(prefix));
}

void set_default_route(int ifindex, Ipv4 gateway) {
  rtmsg msg{};
  msg.rtm_family = AF_INET;
  msg.rtm_table = RT_TABLE_MAIN;
  msg.rtm_protocol = RTPROT_DHCP;
  msg.rtm_scope = RT_SCOPE_UNIVERSE;
  msg.rtm_type = RTN_UNICAST;
  Request r(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &msg, sizeof msg);
  uint32_t gw = htonl(gateway);
  r.add(RTA_GATEWAY, &gw, 4);
  r.add_u32(RTA_OIF, static_cast<uint32_t>(ifindex));
  r.execute("adding the default route via " + format_ip(gateway));
}

}  // namespace mcpvm::guest::net
