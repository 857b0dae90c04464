// The host's exec multiplexer fed what a guest might send, hostile included: it must never throw, must
// end only the offending session, and must bound what it buffers.
#include <gtest/gtest.h>

#include <poll.h>

#include <algorithm>
#include <random>
#include <utility>

#include "util/error.h"
#include "vm/exec_mux.h"

using namespace mcpvm;
using guest::Frame;
using guest::MsgType;
using vm::ExecEvent;

namespace {

std::vector<Frame> decode_all(const std::string& bytes) {
  guest::FrameDecoder d;
  d.feed(bytes);
  std::vector<Frame> out;
  while (auto f = d.next()) out.push_back(*f);
  EXPECT_EQ(d.buffered(), 0u);
  return out;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

guest::ExecStart start_of(std::vector<std::string> argv) {
  guest::ExecStart s;
  s.argv = std::move(argv);
  return s;
}

Frame frame(MsgType type, uint16_t stream, std::string payload) {
  return Frame{type, stream, std::move(payload)};
}

}  // namespace

TEST(ExecMux, StartQueuesAnExecStartOnAFreshStream) {
  auto mux = vm::ExecMux::create();
  auto a = mux->open(start_of({"ls"}));
  auto b = mux->open(start_of({"cat"}));
  EXPECT_NE(a->stream(), 0);
  EXPECT_NE(a->stream(), b->stream());
  EXPECT_TRUE(readable(mux->wake_fd()));
  auto frames = decode_all(mux->take_outgoing());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, MsgType::ExecStart);
  EXPECT_EQ(frames[0].stream, a->stream());
  EXPECT_EQ(guest::parse_exec_start(frames[1].payload).argv[0], "cat");
  EXPECT_FALSE(readable(mux->wake_fd()));
}

TEST(ExecMux, RoutesOutputInOrderAndEndsWithTheExit) {
  auto mux = vm::ExecMux::create();
  auto s = mux->open(start_of({"sh"}));
  mux->take_outgoing();
  mux->on_guest_frame(frame(MsgType::ExecData, s->stream(), "out1"));
  mux->on_guest_frame(frame(MsgType::ExecStderr, s->stream(), "err"));
  mux->on_guest_frame(frame(MsgType::ExecData, s->stream(), "out2"));
  mux->on_guest_frame(frame(MsgType::ExecExit, s->stream(), guest::encode_exec_exit({3, 0, ""})));
  EXPECT_TRUE(readable(s->event_fd()));
  auto events = s->take_events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, ExecEvent::Kind::stdout_data);
  EXPECT_EQ(events[0].data, "out1");
  EXPECT_EQ(events[1].kind, ExecEvent::Kind::stderr_data);
  EXPECT_EQ(events[2].data, "out2");
  EXPECT_EQ(events[3].kind, ExecEvent::Kind::exit);
  EXPECT_EQ(events[3].exit.code, 3);
  EXPECT_EQ(mux->open_sessions(), 0u);
  // A session that ended by itself is not killed again when the client lets go of it.
  s.reset();
  EXPECT_TRUE(mux->take_outgoing().empty());
}

TEST(ExecMux, ConsumedOutputIsAcknowledgedToTheGuest) {
  auto mux = vm::ExecMux::create();
  auto s = mux->open(start_of({"yes"}));
  mux->take_outgoing();
  std::string chunk(guest::kExecChunk, 'y');
  for (uint32_t sent = 0; sent < guest::kExecWindow; sent += guest::kExecChunk)
    mux->on_guest_frame(frame(MsgType::ExecData, s->stream(), chunk));
  size_t got = 0;
  for (auto& e : s->take_events()) got += e.data.size();
  EXPECT_EQ(got, guest::kExecWindow);
  s->consumed(got);
  auto frames = decode_all(mux->take_outgoing());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, MsgType::ExecAck);
  EXPECT_EQ(guest::parse_ack(frames[0].payload), guest::kExecWindow);
  // The window is open again.
  mux->on_guest_frame(frame(MsgType::ExecData, s->stream(), chunk));
  EXPECT_EQ(s->take_events().size(), 1u);
}

TEST(ExecMux, StdinIsLimitedByTheGuestsWindowAndChunked) {
  auto mux = vm::ExecMux::create();
  auto s = mux->open(start_of({"cat"}));
  mux->take_outgoing();
  EXPECT_EQ(s->stdin_room(), guest::kExecWindow);
  s->send_stdin(std::string(guest::kExecWindow, 'x'));
  EXPECT_EQ(s->stdin_room(), 0u);
  EXPECT_THROW(s->send_stdin("more"), Error);
  auto frames = decode_all(mux->take_outgoing());
  ASSERT_EQ(frames.size(), guest::kExecWindow / guest::kExecChunk);
  for (auto& f : frames) EXPECT_LE(f.payload.size(), guest::kExecChunk);
  mux->on_guest_frame(frame(MsgType::ExecAck, s->stream(), guest::encode_ack(4096)));
  EXPECT_EQ(s->stdin_room(), 4096u);
  EXPECT_TRUE(readable(s->event_fd()));  // the client learns it may send more
}

TEST(ExecMux, GuestExceedingItsWindowEndsOnlyThatSession) {
  auto mux = vm::ExecMux::create();
  auto bad = mux->open(start_of({"a"}));
  auto good = mux->open(start_of({"b"}));
  mux->take_outgoing();
  std::string chunk(guest::kExecChunk, 'z');
  for (uint32_t sent = 0; sent <= guest::kExecWindow; sent += guest::kExecChunk)
    mux->on_guest_frame(frame(MsgType::ExecData, bad->stream(), chunk));
  auto events = bad->take_events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, ExecEvent::Kind::error);
  EXPECT_NE(events.back().data.find("window"), std::string::npos);
  // The host buffered at most the window for it.
  size_t buffered = 0;
  for (auto& e : events) buffered += e.data.size() * (e.kind == ExecEvent::Kind::stdout_data);
  EXPECT_LE(buffered, guest::kExecWindow);
  auto frames = decode_all(mux->take_outgoing());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, MsgType::ExecClose);  // the guest is told to kill it
  EXPECT_EQ(frames[0].stream, bad->stream());
  // Later frames for it are dropped; the other session is untouched.
  mux->on_guest_frame(frame(MsgType::ExecData, bad->stream(), "late"));
  EXPECT_TRUE(bad->take_events().empty());
  mux->on_guest_frame(frame(MsgType::ExecData, good->stream(), "fine"));
  auto g = good->take_events();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data, "fine");
}

TEST(ExecMux, HostileFramesEndTheirSessionWithAnError) {
  for (Frame f : {frame(MsgType::ExecExit, 0, "not json"), frame(MsgType::ExecExit, 0, R"({"code":999})"),
                  frame(MsgType::ExecAck, 0, guest::encode_ack(1)),  // nothing was sent
                  frame(MsgType::ExecAck, 0, "{}"), frame(MsgType::ExecStart, 0, "{}"),
                  frame(MsgType::Ready, 0, "{}"), frame(MsgType(200), 0, "")}) {
    auto mux = vm::ExecMux::create();
    auto s = mux->open(start_of({"x"}));
    mux->take_outgoing();
    f.stream = s->stream();
    EXPECT_NO_THROW(mux->on_guest_frame(f));
    auto events = s->take_events();
    ASSERT_EQ(events.size(), 1u) << int(f.type);
    EXPECT_EQ(events[0].kind, ExecEvent::Kind::error);
    EXPECT_EQ(mux->open_sessions(), 0u);
  }
}

TEST(ExecMux, UnknownStreamsAreDropped) {
  auto mux = vm::ExecMux::create();
  auto s = mux->open(start_of({"x"}));
  mux->take_outgoing();
  for (uint16_t stream : {uint16_t(0), uint16_t(s->stream() + 1), uint16_t(65535)})
    mux->on_guest_frame(frame(MsgType::ExecData, stream, std::string(guest::kMaxPayload, 'q')));
  EXPECT_EQ(mux->dropped_frames(), 3u);
  EXPECT_TRUE(s->take_events().empty());
  EXPECT_EQ(mux->open_sessions(), 1u);
}

TEST(ExecMux, ClientLeavingKillsTheProcess) {
  auto mux = vm::ExecMux::create();
  auto s = mux->open(start_of({"sleep", "100"}));
  uint16_t stream = s->stream();
  mux->take_outgoing();
  s.reset();
  auto frames = decode_all(mux->take_outgoing());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, MsgType::ExecClose);
  EXPECT_EQ(frames[0].stream, stream);
  // A stream id is not handed out again right away (frames of the old session may be in flight).
  auto next = mux->open(start_of({"x"}));
  EXPECT_NE(next->stream(), stream);
}

TEST(ExecMux, ClosingTheMuxEndsEverySessionAndRefusesNewOnes) {
  auto mux = vm::ExecMux::create();
  auto a = mux->open(start_of({"a"}));
  auto b = mux->open(start_of({"b"}));
  mux->close("the VM stopped");
  for (auto* s : {a.get(), b.get()}) {
    auto e = s->take_events();
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].kind, ExecEvent::Kind::error);
    EXPECT_EQ(e[0].data, "the VM stopped");
  }
  EXPECT_THROW(mux->open(start_of({"c"})), Error);
}

TEST(ExecMux, SessionCountIsCapped) {
  auto mux = vm::ExecMux::create();
  std::vector<std::unique_ptr<vm::ExecSession>> sessions;
  for (size_t i = 0; i < vm::ExecMux::kMaxSessions; ++i) sessions.push_back(mux->open(start_of({"x"})));
  EXPECT_THROW(mux->open(start_of({"x"})), Error);
  sessions.pop_back();
  EXPECT_NO_THROW(mux->open(start_of({"x"})));
}

TEST(ExecMux, RandomFramesNeverThrowOrBufferBeyondTheWindows) {
  std::mt19937 rng(7);
  auto mux = vm::ExecMux::create();
  std::vector<std::unique_ptr<vm::ExecSession>> sessions;
  for (int i = 0; i < 4; ++i) sessions.push_back(mux->open(start_of({"x"})));
  // Data handed to a session and not yet consumed by its client: the window must bound it. The client
  // consumes only now and then, so a mux that ignored the window would pile up far more than it.
  std::vector<size_t> unconsumed(sessions.size());
  size_t peak = 0;
  int window_errors = 0;
  for (int round = 0; round < 20000; ++round) {
    Frame f;
    if (rng() % 20) {  // mostly output for a live session, which a hostile guest sends past the window
      f.type = rng() % 2 ? MsgType::ExecData : MsgType::ExecStderr;
      f.stream = sessions[rng() % sessions.size()]->stream();
      f.payload.assign(rng() % 2 ? rng() % 100 : rng() % 70000, char(rng()));
    } else {  // anything: wrong types, made-up streams, acks, exits
      f.type = MsgType(16 + rng() % 12);
      f.stream = uint16_t(rng() % 7);
      f.payload.assign(rng() % 3 ? rng() % 100 : rng() % 70000, char(rng()));
      if (rng() % 4 == 0) f.payload = guest::encode_ack(1 + rng() % 1000);
      if (rng() % 8 == 0) f.payload = guest::encode_exec_exit({int(rng() % 256), 0, ""});
    }
    EXPECT_NO_THROW(mux->on_guest_frame(f));
    bool consume = rng() % 200 == 0;  // rarely enough that a session's window fills up in between
    for (size_t i = 0; i < sessions.size(); ++i) {
      for (auto& e : sessions[i]->take_events()) {
        if (e.kind == ExecEvent::Kind::stdout_data || e.kind == ExecEvent::Kind::stderr_data)
          unconsumed[i] += e.data.size();
        if (e.kind == ExecEvent::Kind::error && e.data.find("window") != std::string::npos) ++window_errors;
      }
      ASSERT_LE(unconsumed[i], size_t(guest::kExecWindow));  // one window for stdout and stderr together
      peak = std::max(peak, unconsumed[i]);
      if (consume && unconsumed[i]) sessions[i]->consumed(std::exchange(unconsumed[i], 0));
    }
    if (mux->open_sessions() < 2) {
      sessions.clear();
      for (int i = 0; i < 4; ++i) sessions.push_back(mux->open(start_of({"x"})));
      std::fill(unconsumed.begin(), unconsumed.end(), 0);
    }
    mux->take_outgoing();
  }
  // Positive control: the random frames did fill windows, so the bound above was really exercised.
  EXPECT_GT(peak, size_t(guest::kExecWindow) / 2);
  EXPECT_GT(window_errors, 0);
}
