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

#include "loopback_server.h"
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
  FakeRegistry() : server_([this](UniqueFd fd) { serve(std::move(fd)); }) { route("/v2/", {}); }
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  // "127.0.0.1:PORT"
  std::string host() const { return "127.0.0.1:" + std::to_string(server_.port()); }
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
    for (uint64_t left = r.filler_bytes; left > 0 && !server_.stopping();) {
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

  mutable std::mutex mutex_;
  std::map<std::string, FakeResponse> routes_;
  std::vector<std::string> log_;
  std::atomic<uint64_t> bytes_sent_{0};
  mcpvm::test::LoopbackServer server_;  // last: its threads use the members above until it is destroyed
};

}  // namespace mcpvm::oci::test
