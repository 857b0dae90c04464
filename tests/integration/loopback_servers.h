// Loopback sockets and a greeting TCP server for the network integration tests (namespace and VM).
// Everything binds 127.0.0.1 only.
#pragma once

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <string>
#include <thread>

#include "loopback_server.h"
#include "util/error.h"
#include "util/fd.h"

namespace mcpvm::net::test {

using mcpvm::test::listen_loopback;
using mcpvm::test::local_port;

// A TCP server on 127.0.0.1 that greets every connection with "hello <port>" and counts them (a denied
// path must leave the count at zero).
class GreetingServer {
 public:
  GreetingServer() : fd_(listen_loopback(SOCK_STREAM, 0)), port_(local_port(fd_.get())) {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c) continue;
        ++connections_;
        std::string greeting = fmt::format("hello {}\n", port_);
        [[maybe_unused]] ssize_t n = ::send(c.get(), greeting.data(), greeting.size(), MSG_NOSIGNAL);
      }
    });
  }
  ~GreetingServer() {
    stop_ = true;
    thread_.join();
  }
  GreetingServer(const GreetingServer&) = delete;
  GreetingServer& operator=(const GreetingServer&) = delete;
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  UniqueFd fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace mcpvm::net::test
