#include "vm/qmp.h"

#include <poll.h>
#include <unistd.h>

#include <thread>

#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::vm {

namespace {

using Clock = std::chrono::steady_clock;

// QEMU's answers are small; anything near this is not QEMU.
constexpr size_t kMaxMessage = 1 << 20;

}  // namespace

QmpClient::QmpClient(UniqueFd socket, std::chrono::milliseconds timeout) : fd_(std::move(socket)) {
  auto deadline = Clock::now() + timeout;
  nlohmann::json greeting = read_message(deadline);
  if (!greeting.contains("QMP")) fail("QMP: unexpected greeting {}", greeting.dump());
  execute("qmp_capabilities", nullptr, timeout);
}

nlohmann::json QmpClient::read_message(Clock::time_point deadline) {
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) fail("QMP: malformed message from QEMU");
      return j;
    }
    if (buffer_.size() > kMaxMessage) fail("QMP: message from QEMU too large");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) fail("QMP: QEMU did not answer in time");
    pollfd p{fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, int(left));
    if (n < 0 && errno != EINTR) fail_errno("QMP: poll");
    if (n <= 0) continue;
    char buf[8192];
    ssize_t r = ::read(fd_.get(), buf, sizeof buf);
    if (r == 0) fail("QMP: QEMU closed the monitor (did it exit?)");
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      fail_errno("QMP: read");
    }
    buffer_.append(buf, size_t(r));
  }
}

nlohmann::json QmpClient::execute(const std::string& command, const nlohmann::json& arguments,
                                  std::chrono::milliseconds timeout) {
  nlohmann::json request{{"execute", command}};
  if (!arguments.is_null()) request["arguments"] = arguments;
  write_all(fd_.get(), request.dump() + "\n");
  auto deadline = Clock::now() + timeout;
  for (;;) {
    nlohmann::json reply = read_message(deadline);
    if (reply.contains("event")) continue;
    if (reply.contains("return")) return reply["return"];
    if (reply.contains("error")) {
      const auto& e = reply["error"];
      fail("QMP {}: {}", command,
           e.is_object() && e.contains("desc") && e["desc"].is_string() ? e["desc"].get<std::string>()
                                                                        : e.dump());
    }
    fail("QMP {}: unexpected reply {}", command, reply.dump());
  }
}

void QmpClient::wait_for_migration(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    nlohmann::json info = execute("query-migrate", nullptr, timeout);
    std::string status = info.is_object() ? info.value("status", std::string()) : std::string();
    if (status == "completed") return;
    if (status == "failed" || status == "cancelled")
      fail("migration {}: {}", status, info.value("error-desc", std::string("no reason given")));
    if (Clock::now() > deadline) fail("migration did not complete in time (status \"{}\")", status);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace mcpvm::vm
