#include "util/socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "util/error.h"

namespace mcpvm {

std::pair<UniqueFd, UniqueFd> stream_socketpair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail_errno("socketpair");
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

uint16_t free_loopback_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) fail_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail_errno("finding a free port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

}  // namespace mcpvm
