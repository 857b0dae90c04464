// Test peers on 127.0.0.1: a listening socket on a free port, and LoopbackServer, which runs a test's
// serve(fd) on its own thread for every connection (a fake registry, a hostile HTTP guest, ...).
// Everything binds 127.0.0.1 only.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace mcpvm::test {

// A socket bound to 127.0.0.1:port (0: any free port), listening if it is a stream socket.
inline UniqueFd listen_loopback(int type, uint16_t port, int backlog = 16) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail_errno("binding 127.0.0.1:{}", port);
  if (type == SOCK_STREAM && ::listen(fd.get(), backlog) != 0) fail_errno("listen");
  return fd;
}

inline uint16_t local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// serve(fd) must return soon once stopping() turns true (or the peer hangs up): the destructor joins every
// connection's thread.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::function<void(UniqueFd)> serve)
      : listener_(listen_loopback(SOCK_STREAM, 0)),
        port_(local_port(listener_.get())),
        serve_(std::move(serve)) {
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : connections_) t.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  bool stopping() const { return stop_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) connections_.emplace_back([this, fd] { serve_(UniqueFd(fd)); });
    }
  }

  UniqueFd listener_;
  uint16_t port_;
  std::function<void(UniqueFd)> serve_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // only the acceptor adds; joined after it stopped
};

}  // namespace mcpvm::test
