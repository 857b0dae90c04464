#include "runner/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "util/error.h"
#include "util/fd.h"

namespace mcpvm::runner {

namespace {

using Clock = std::chrono::steady_clock;

// A non-blocking socket connecting (or connected) to 127.0.0.1:port; empty with `detail` set on failure.
UniqueFd connect_loopback(uint16_t port, std::string& detail) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return detail = "socket failed", UniqueFd();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
    return detail = fmt::format("connect: {}", std::strerror(errno)), UniqueFd();
  return fd;
}

// The same for a Unix socket.
UniqueFd connect_unix(const std::filesystem::path& path, std::string& detail) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) return detail = "socket path too long", UniqueFd();
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return detail = "socket failed", UniqueFd();
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
    return detail = fmt::format("connect: {}", std::strerror(errno)), UniqueFd();
  return fd;
}

// Sends `request` on a connecting socket and reads until done(response) or the timeout. Returns what
// arrived.
std::string exchange(UniqueFd fd, const std::string& request, std::chrono::milliseconds timeout,
                     const std::function<bool(const std::string&)>& done, std::string& detail) {
  if (!fd) return "";
  auto deadline = Clock::now() + timeout;
  std::string_view pending = request;
  std::string response;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd.get(), short(pending.empty() ? POLLIN : POLLOUT), 0};
    if (::poll(&p, 1, int(std::max<long>(left.count(), 1))) <= 0) continue;
    if (!pending.empty()) {
      ssize_t w = ::send(fd.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
      if (w < 0) return detail = fmt::format("send: {}", std::strerror(errno)), response;
      pending.remove_prefix(size_t(w));
      continue;
    }
    char buf[8192];
    ssize_t r = ::recv(fd.get(), buf, sizeof buf, 0);
    if (r <= 0) break;
    response.append(buf, size_t(r));
    if (done(response) || response.size() > (1 << 20)) break;
  }
  if (response.empty() && detail.empty()) detail = "no response";
  return response;
}

}  // namespace

bool probe_mcp_initialize(uint16_t port, const std::string& path, const std::string& bearer_token,
                          std::chrono::milliseconds timeout, std::string& detail) {
  std::string body =
      R"({"jsonrpc":"2.0","id":"mcpvm-ready","method":"initialize","params":{"protocolVersion":"2025-03-26",)"
      R"("capabilities":{},"clientInfo":{"name":"mcpvm-readiness-probe","version":"0.1.0"}}})";
  std::string auth = bearer_token.empty() ? "" : "Authorization: Bearer " + bearer_token + "\r\n";
  std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{}Content-Type: application/json\r\n"
      "Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      path, port, auth, body.size(), body);
  auto has_result = [](const std::string& r) { return r.find("\"result\"") != std::string::npos; };
  std::string response = exchange(connect_loopback(port, detail), request, timeout, has_result, detail);
  if (has_result(response) && response.rfind("HTTP/1.1 200", 0) == 0) return true;
  if (!response.empty()) detail = response.substr(0, response.find("\r\n"));
  return false;
}

bool probe_http(const std::filesystem::path& socket, std::chrono::milliseconds timeout, std::string& detail) {
  std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  auto has_status = [](const std::string& r) { return r.find("\r\n") != std::string::npos; };
  std::string response = exchange(connect_unix(socket, detail), request, timeout, has_status, detail);
  return response.rfind("HTTP/", 0) == 0 && has_status(response);
}

std::chrono::seconds parse_duration(std::string_view text) {
  std::string_view digits = text;
  long unit = 1;
  if (!digits.empty() && (digits.back() == 's' || digits.back() == 'm' || digits.back() == 'h')) {
    unit = digits.back() == 'h' ? 3600 : digits.back() == 'm' ? 60 : 1;
    digits.remove_suffix(1);
  }
  long value = -1;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || value <= 0 ||
      value > 86400 / unit)
    fail("invalid duration \"{}\": use seconds (60, 60s), minutes (2m) or hours (1h), at most 24h", text);
  return std::chrono::seconds(value * unit);
}

}  // namespace mcpvm::runner
