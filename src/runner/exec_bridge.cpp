#include "runner/exec_bridge.h"

#include <poll.h>

#include <algorithm>

#include "secrets/key.h"
#include "util/error.h"

namespace mcpvm::runner {

using nlohmann::json;

namespace {

// Stdin read from the client but not yet taken by the guest; above this the client is not read (its
// writes block: backpressure up to the user's pipe).
constexpr size_t kMaxPendingStdin = 1 << 20;

std::vector<std::string> string_list(const json& request, const char* key) {
  auto it = request.find(key);
  if (it == request.end()) return {};
  if (!it->is_array()) fail("exec: \"{}\" must be a list of strings", key);
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) fail("exec: \"{}\" must be a list of strings", key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

uint16_t dimension(const json& request, const char* key, uint16_t fallback) {
  auto it = request.find(key);
  if (it == request.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 65535)
    fail("exec: \"{}\" must be 0..65535", key);
  return uint16_t(it->get<int64_t>());
}

std::string text(const json& request, const char* key) {
  auto it = request.find(key);
  if (it == request.end()) return {};
  if (!it->is_string()) fail("exec: \"{}\" must be a string", key);
  return it->get<std::string>();
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) fail("exec: \"{}\" must be true or false", key);
  return it->get<bool>();
}

class Bridge {
 public:
  Bridge(ControlChannel& channel, std::unique_ptr<vm::ExecSession> session, bool interactive)
      : channel_(channel), session_(std::move(session)), eof_pending_(!interactive) {}

  void run() {
    for (;;) {
      forward_stdin();
      pollfd fds[2] = {{pending_stdin_.size() >= kMaxPendingStdin ? -1 : channel_.fd(), POLLIN, 0},
                       {session_->event_fd(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) fail_errno("exec: poll");
      if (fds[1].revents && relay_events()) return;
      if (fds[0].revents && !read_client()) return;
    }
  }

 private:
  void forward_stdin() {
    if (!pending_stdin_.empty()) {
      size_t n = std::min(pending_stdin_.size(), session_->stdin_room());
      session_->send_stdin(std::string_view(pending_stdin_).substr(0, n));
      pending_stdin_.erase(0, n);
    }
    if (eof_pending_ && pending_stdin_.empty()) {
      session_->send_eof();
      eof_pending_ = false;
    }
  }

  // True once the session ended (its last line was sent).
  bool relay_events() {
    for (auto& e : session_->take_events()) {
      switch (e.kind) {
        case vm::ExecEvent::Kind::stdout_data:
        case vm::ExecEvent::Kind::stderr_data:
          channel_.send(
              {{e.kind == vm::ExecEvent::Kind::stdout_data ? "stdout" : "stderr", base64_encode(e.data)}});
          session_->consumed(e.data.size());
          break;
        case vm::ExecEvent::Kind::exit: {
          json line{{"exit", e.exit.code}, {"signal", e.exit.signal}};
          if (!e.exit.error.empty()) line["error"] = e.exit.error;
          channel_.send(line);
          return true;
        }
        case vm::ExecEvent::Kind::error:
          channel_.send({{"ok", false}, {"error", e.data}});
          return true;
      }
    }
    return false;
  }

  // False when the client went away (the session is then dropped: the guest kills the process).
  bool read_client() {
    bool closed = false;
    for (const json& m : channel_.receive_available(closed)) {
      if (auto it = m.find("stdin"); it != m.end() && it->is_string()) {
        if (got_eof_) continue;  // stdin after its end: dropped
        pending_stdin_ += base64_decode(it->get<std::string>());
      } else if (flag(m, "eof")) {
        eof_pending_ = true;
        got_eof_ = true;
      } else if (auto r = m.find("resize"); r != m.end() && r->is_array() && r->size() == 2) {
        session_->resize(
            {dimension(json{{"rows", (*r)[0]}}, "rows", 24), dimension(json{{"cols", (*r)[1]}}, "cols", 80)});
      } else if (auto s = m.find("signal"); s != m.end() && s->is_number_integer()) {
        int sig = s->get<int>();
        if (sig < 1 || sig > 64) fail("exec: signal {} out of range", sig);
        session_->signal(sig);
      } else {
        fail("exec: unknown message from the client");
      }
    }
    return !closed;
  }

  ControlChannel& channel_;
  std::unique_ptr<vm::ExecSession> session_;
  std::string pending_stdin_;
  bool eof_pending_;
  bool got_eof_ = false;
};

}  // namespace

guest::ExecStart exec_start_from_request(const json& request) {
  guest::ExecStart s;
  s.argv = string_list(request, "argv");
  if (s.argv.empty() || s.argv[0].empty()) fail("exec: no command given");
  s.env = string_list(request, "env");
  for (const auto& e : s.env)
    if (e.find('=') == std::string::npos || e[0] == '=')
      fail("exec: environment entry \"{}\" is not KEY=VALUE", e);
  s.tty = flag(request, "tty");
  s.rows = dimension(request, "rows", 24);
  s.cols = dimension(request, "cols", 80);
  s.user = text(request, "user");
  s.workdir = text(request, "workdir");
  for (const auto* list : {&s.argv, &s.env})
    for (const auto& str : *list)
      if (str.find('\0') != std::string::npos) fail("exec: NUL byte in the command or environment");
  return s;
}

void bridge_exec(ControlChannel& channel, const json& request, vm::ExecMux& mux,
                 std::vector<std::string> secret_env) {
  guest::ExecStart start = exec_start_from_request(request);
  bool interactive = flag(request, "interactive");
  // exec --secret-env: the VM's secrets, on top of the session's -e (they win, as for the server).
  start.env.insert(start.env.end(), secret_env.begin(), secret_env.end());
  secrets::wipe(secret_env);
  auto session = mux.open(start);
  secrets::wipe(start.env);
  channel.send({{"ok", true}, {"stream", session->stream()}});
  Bridge(channel, std::move(session), interactive).run();
}

}  // namespace mcpvm::runner
