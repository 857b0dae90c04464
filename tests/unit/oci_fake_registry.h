// A registry on 127.0.0.1 that answers exactly what a test tells it to, including what a real
// docker-registry cannot be made to do: bodies longer than their descriptor says, endless bodies,
// arbitrary challenges. One thread per connection; every response closes its connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace mcpvm::oci::test {

struct FakeResponse {
  int status = 200;
  std::string headers;  // extra "Name: value\r\n" lines
  std::string body;
  // When non-zero: after `body`, this many filler bytes follow (Content-Length counts them), sent until
  // the client hangs up. What the server managed to send is in FakeRegistry::bytes_sent().
  uint64_t filler_bytes = 0;
};

class FakeRegistry {
 public:
  FakeRegistry() : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_.get(), 16) != 0)
      fail_errno("fake registry: listening on 127.0.0.1");
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    route("/v2/", {});
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FakeRegistry() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : connections_) t.join();
  }
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  // "127.0.0.1:PORT"
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  void route(const std::string& path, FakeResponse response) {
    std::lock_guard lock(mutex_);
    routes_[path] = std::move(response);
  }
  // Request lines and Authorization headers, in arrival order: "GET /v2/x/manifests/1", "auth: Bearer t".
  std::vector<std::string> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) connections_.emplace_back([this, fd] { serve(UniqueFd(fd)); });
    }
  }

  void serve(UniqueFd fd) {
    timeval timeout{5, 0};  // a test client that stops reading must not hang the test
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n <= 0) return;
      request.append(buf, size_t(n));
    }
    std::string line = request.substr(0, request.find("\r\n"));
    std::string path = line.substr(line.find(' ') + 1);
    path = path.substr(0, path.find_first_of(" ?"));
    FakeResponse r{404, "", R"({"errors":[{"message":"not in the fake"}]})", 0};
    {
      std::lock_guard lock(mutex_);
      log_.push_back(line.substr(0, line.rfind(' ')));
      if (size_t a = request.find("\r\nAuthorization: "); a != std::string::npos)
        log_.push_back("auth: " + request.substr(a + 17, request.find("\r\n", a + 2) - a - 17));
      if (auto it = routes_.find(path); it != routes_.end()) r = it->second;
    }
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nConnection: close\r\n" + r.headers +
                       "Content-Length: " + std::to_string(r.body.size() + r.filler_bytes) + "\r\n\r\n";
    if (!send_all(fd.get(), head + r.body)) return;
    std::string filler(64 * 1024, 'x');
    for (uint64_t left = r.filler_bytes; left > 0 && !stop_;) {
      size_t n = size_t(std::min<uint64_t>(left, filler.size()));
      if (!send_all(fd.get(), std::string_view(filler).substr(0, n))) return;
      left -= n;
    }
  }

  bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes_sent_ += uint64_t(n);
      data.remove_prefix(size_t(n));
    }
    return true;
  }

  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // only the acceptor adds; joined after it stopped
  mutable std::mutex mutex_;
  std::map<std::string, FakeResponse> routes_;
  std::vector<std::string> log_;
  std::atomic<uint64_t> bytes_sent_{0};
};

}  // namespace mcpvm::oci::test
