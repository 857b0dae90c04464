#include "runner/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>

#include "util/error.h"
#include "util/fs.h"
#include "util/json_depth.h"

namespace mcpvm::runner {

using nlohmann::json;

void LineBuffer::feed(std::string_view bytes) {
  buffer_.append(bytes);
  auto nl = buffer_.find('\n', scanned_);
  size_t line_len = nl == std::string::npos ? buffer_.size() : nl;
  if (line_len > max_line_) fail("control message longer than {} bytes", max_line_);
  scanned_ = buffer_.size();
}

std::optional<std::string> LineBuffer::next_line() {
  auto nl = buffer_.find('\n');
  if (nl == std::string::npos) {
    scanned_ = buffer_.size();
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  scanned_ = 0;
  // Re-check the remainder: it may hold an over-long line that arrived in the same chunk.
  auto next = buffer_.find('\n');
  if ((next == std::string::npos ? buffer_.size() : next) > max_line_)
    fail("control message longer than {} bytes", max_line_);
  return line;
}

json parse_control_line(std::string_view line) {
  bool too_deep = false;
  json j = parse_untrusted_json(line, &too_deep);
  if (too_deep) fail("malformed control message: {}", too_deep_reason());
  if (j.is_discarded()) fail("malformed control message: not JSON");
  if (!j.is_object()) fail("malformed control message: not a JSON object");
  return j;
}

ControlRequest parse_control_request(const json& message) {
  ControlRequest r;
  r.message = message;
  auto op = message.find("op");
  if (op == message.end() || !op->is_string()) fail("control request: op: expected a string");
  const auto& name = op->get_ref<const std::string&>();
  if (name == "status") {
    r.op = ControlRequest::Op::status;
  } else if (name == "stop" || name == "restart") {
    r.op = name == "stop" ? ControlRequest::Op::stop : ControlRequest::Op::restart;
    auto t = message.find("timeout_s");
    if (t != message.end()) {
      if (!t->is_number() || t->get<double>() < 0 || t->get<double>() > 86400)
        fail("control request: timeout_s: expected seconds from 0 to 86400");
      r.stop_timeout = std::chrono::milliseconds(int64_t(t->get<double>() * 1000));
    }
  } else if (name == "exec") {
    r.op = ControlRequest::Op::exec;
  } else {
    fail("control request: unknown op {:?}", name);
  }
  return r;
}

void ControlChannel::send(const json& message) {
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  // send(MSG_NOSIGNAL): a peer that went away is an error for this connection, never a SIGPIPE for the
  // process (a client may hang up at any moment).
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("control socket: write");
    }
    rest.remove_prefix(size_t(n));
  }
}

std::optional<json> ControlChannel::receive(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto line = lines_.next_line()) return parse_control_line(*line);
    int wait = -1;
    if (timeout_ms >= 0) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      wait = int(left.count());
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, wait);
    if (n < 0 && errno != EINTR) fail_errno("control socket: poll");
    if (n <= 0) continue;
    char buf[65536];
    ssize_t r = ::read(fd_.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail_errno("control socket: read");
    }
    if (r == 0) fail("the runner closed the control connection");
    lines_.feed({buf, size_t(r)});
  }
}

std::vector<json> ControlChannel::receive_available(bool& closed) {
  std::vector<json> out;
  char buf[65536];
  ssize_t r = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (r == 0)
    closed = true;
  else if (r < 0 && errno != EAGAIN && errno != EINTR)
    closed = true;
  else if (r > 0)
    lines_.feed({buf, size_t(r)});
  while (auto line = lines_.next_line()) out.push_back(parse_control_line(*line));
  return out;
}

namespace {

sockaddr_un socket_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path)
    fail("control socket path {} is longer than {} bytes: use a shorter MCPVM_HOME", path.string(),
         sizeof addr.sun_path - 1);
  std::copy(path.native().begin(), path.native().end(), addr.sun_path);
  return addr;
}

}  // namespace

ControlChannel connect_control(const std::filesystem::path& socket_path) {
  sockaddr_un addr = socket_address(socket_path);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) fail_errno("control socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) fail("no runner is listening on {}", socket_path.string());
    fail_errno("connecting to {}", socket_path.string());
  }
  return ControlChannel(std::move(fd));
}

json control_call(const std::filesystem::path& socket_path, const json& request, int timeout_ms) {
  ControlChannel channel = connect_control(socket_path);
  std::optional<json> reply;
  try {
    channel.send(request);
  } catch (const Error&) {
    // A runner that refuses a connection (too many at once) answers and closes before reading it: the
    // answer says more than the broken pipe.
    try {
      reply = channel.receive(1000);
    } catch (const Error&) {
    }
    if (!reply) throw;
  }
  if (!reply) reply = channel.receive(timeout_ms);
  if (!reply)
    fail("the runner did not answer \"{}\" within {} s", request.value("op", "?"), timeout_ms / 1000.0);
  if (!reply->value("ok", false))
    fail("{}", reply->value("error", std::string("the runner refused the request")));
  return *reply;
}

UniqueFd listen_control(const std::filesystem::path& socket_path) {
  sockaddr_un addr = socket_address(socket_path);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) fail_errno("control socket");
  ::unlink(socket_path.c_str());  // the caller holds runner.lock: any existing socket is stale
  // umask-independent 0600: bind under a restrictive fchmod is not possible for unix sockets, so chmod after.
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail_errno("binding {}", socket_path.string());
  if (::chmod(socket_path.c_str(), 0600) != 0) fail_errno("chmod {}", socket_path.string());
  if (::listen(fd.get(), 16) != 0) fail_errno("listening on {}", socket_path.string());
  return fd;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v =
        uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8 | uint8_t(data[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kB64[(v >> s) & 63];
  }
  if (size_t rest = data.size() - i) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16 | (rest == 2 ? uint32_t(uint8_t(data[i + 1])) << 8 : 0);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) fail("invalid base64: length {} is not a multiple of 4", text.size());
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad) fail("invalid base64: data after padding");
      v[k] = b64_value(c);
      if (v[k] < 0) fail("invalid base64 character");
    }
    uint32_t n = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
    out += char((n >> 16) & 0xff);
    if (pad < 2) out += char((n >> 8) & 0xff);
    if (pad < 1) out += char(n & 0xff);
  }
  return out;
}

}  // namespace mcpvm::runner
