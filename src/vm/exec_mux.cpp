#include "vm/exec_mux.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "util/error.h"

namespace mcpvm::vm {

using guest::MsgType;

namespace {

UniqueFd make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) fail_errno("eventfd");
  return fd;
}

void raise(const UniqueFd& fd) {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd.get(), &one, sizeof one);
}

void lower(const UniqueFd& fd) {
  uint64_t v;
  [[maybe_unused]] auto n = ::read(fd.get(), &v, sizeof v);
}

}  // namespace

struct ExecSession::State {
  uint16_t stream = 0;
  UniqueFd events_fd = make_eventfd();
  std::deque<ExecEvent> events;
  bool ended = false;  // exit/error queued: nothing more comes from the guest
  guest::ReceiveWindow output_window;
  guest::SendWindow stdin_window;
};

ExecSession::ExecSession(std::shared_ptr<ExecMux> mux, std::shared_ptr<State> state)
    : mux_(std::move(mux)), state_(std::move(state)) {}

ExecSession::~ExecSession() {
  mux_->release(*state_);
}

uint16_t ExecSession::stream() const {
  return state_->stream;
}
int ExecSession::event_fd() const {
  return state_->events_fd.get();
}

std::vector<ExecEvent> ExecSession::take_events() {
  std::lock_guard lock(mux_->mu_);
  lower(state_->events_fd);
  std::vector<ExecEvent> out(std::make_move_iterator(state_->events.begin()),
                             std::make_move_iterator(state_->events.end()));
  state_->events.clear();
  return out;
}

size_t ExecSession::stdin_room() const {
  std::lock_guard lock(mux_->mu_);
  return state_->ended ? 0 : state_->stdin_window.available();
}

void ExecSession::send_stdin(std::string_view data) {
  std::lock_guard lock(mux_->mu_);
  if (state_->ended) return;
  if (data.size() > state_->stdin_window.available()) fail("exec: stdin beyond the guest's window");
  while (!data.empty()) {
    auto chunk = data.substr(0, guest::kExecChunk);
    state_->stdin_window.sent(uint32_t(chunk.size()));
    mux_->queue(MsgType::ExecData, state_->stream, chunk);
    data.remove_prefix(chunk.size());
  }
}

void ExecSession::send_eof() {
  std::lock_guard lock(mux_->mu_);
  if (!state_->ended) mux_->queue(MsgType::ExecEof, state_->stream, "{}");
}

void ExecSession::resize(guest::WindowSize size) {
  std::lock_guard lock(mux_->mu_);
  if (!state_->ended) mux_->queue(MsgType::ExecResize, state_->stream, guest::encode_resize(size));
}

void ExecSession::signal(int signal) {
  std::lock_guard lock(mux_->mu_);
  if (!state_->ended) mux_->queue(MsgType::ExecSignal, state_->stream, guest::encode_exec_signal(signal));
}

void ExecSession::consumed(size_t bytes) {
  std::lock_guard lock(mux_->mu_);
  if (state_->ended) return;
  if (uint32_t ack = state_->output_window.consumed(bytes))
    mux_->queue(MsgType::ExecAck, state_->stream, guest::encode_ack(ack));
}

ExecMux::ExecMux() : wake_(make_eventfd()) {}

std::shared_ptr<ExecMux> ExecMux::create() {
  return std::shared_ptr<ExecMux>(new ExecMux());
}

uint16_t ExecMux::allocate_stream() {
  // Ids go round 1..65535 so a stream is not reused while frames of its last session may be in flight.
  for (;;) {
    uint16_t id = next_stream_;
    next_stream_ = next_stream_ == 65535 ? 1 : uint16_t(next_stream_ + 1);
    if (!sessions_.count(id)) return id;
  }
}

std::unique_ptr<ExecSession> ExecMux::open(const guest::ExecStart& start) {
  std::string payload = guest::encode_exec_start(start);
  if (payload.size() > guest::kMaxPayload) fail("exec: the command line and environment are too large");
  std::lock_guard lock(mu_);
  if (closed_) fail("{}", closed_reason_);
  if (sessions_.size() >= kMaxSessions) fail("too many exec sessions on this VM (at most {})", kMaxSessions);
  auto state = std::make_shared<ExecSession::State>();
  state->stream = allocate_stream();
  sessions_[state->stream] = state;
  queue(MsgType::ExecStart, state->stream, payload);
  return std::unique_ptr<ExecSession>(new ExecSession(shared_from_this(), state));
}

void ExecMux::queue(MsgType type, uint16_t stream, std::string_view payload) {
  outgoing_ += guest::encode_frame(type, payload, stream);
  raise(wake_);
}

std::string ExecMux::take_outgoing() {
  std::lock_guard lock(mu_);
  lower(wake_);
  return std::exchange(outgoing_, {});
}

void ExecMux::end(ExecSession::State& s, ExecEvent event) {
  s.events.push_back(std::move(event));
  s.ended = true;
  sessions_.erase(s.stream);
  raise(s.events_fd);
}

void ExecMux::release(ExecSession::State& s) {
  std::lock_guard lock(mu_);
  if (s.ended) return;
  s.ended = true;
  sessions_.erase(s.stream);
  if (!closed_) queue(MsgType::ExecClose, s.stream, "{}");
}

void ExecMux::on_guest_frame(const guest::Frame& f) noexcept {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(f.stream);
  if (it == sessions_.end()) {
    ++dropped_;  // a session the client already left, or a stream the guest made up
    return;
  }
  ExecSession::State& s = *it->second;
  try {
    switch (f.type) {
      case MsgType::ExecData:
      case MsgType::ExecStderr:
        s.output_window.received(f.payload.size());
        if (f.payload.empty()) break;
        s.events.push_back(
            {f.type == MsgType::ExecData ? ExecEvent::Kind::stdout_data : ExecEvent::Kind::stderr_data,
             f.payload,
             {}});
        raise(s.events_fd);
        break;
      case MsgType::ExecAck:
        s.stdin_window.acked(guest::parse_ack(f.payload));
        raise(s.events_fd);  // the client may send more stdin now
        break;
      case MsgType::ExecExit:
        end(s, {ExecEvent::Kind::exit, {}, guest::parse_exec_exit(f.payload)});
        break;
      default:
        throw guest::ProtocolError("unexpected message type " + std::to_string(int(f.type)));
    }
  } catch (const std::exception& e) {
    // The guest broke the protocol for this session: end it here and kill the process there.
    uint16_t stream = s.stream;
    end(s, {ExecEvent::Kind::error, std::string("the guest broke the exec protocol: ") + e.what(), {}});
    try {
      queue(MsgType::ExecClose, stream, "{}");
    } catch (...) {
    }
  }
}

void ExecMux::close(const std::string& reason) {
  std::lock_guard lock(mu_);
  closed_ = true;
  closed_reason_ = reason;
  auto open = std::exchange(sessions_, {});
  for (auto& [stream, s] : open) {
    s->events.push_back({ExecEvent::Kind::error, reason, {}});
    s->ended = true;
    raise(s->events_fd);
  }
}

size_t ExecMux::open_sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

uint64_t ExecMux::dropped_frames() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace mcpvm::vm
