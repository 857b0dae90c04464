#include <gtest/gtest.h>

#include <random>

#include "guest/protocol.h"

using namespace mcpvm::guest;

TEST(GuestProtocol, RoundTripsFramesSplitAtEveryByte) {
  std::string wire = encode_frame(MsgType::Ready, "{}") + encode_frame(MsgType::Exit, R"({"code":3})", 7) +
                     encode_frame(MsgType::ExecData, std::string("\0\xff bin", 6), 65535);
  for (size_t split = 0; split <= wire.size(); ++split) {
    FrameDecoder d;
    d.feed(std::string_view(wire).substr(0, split));
    std::vector<Frame> got;
    while (auto f = d.next()) got.push_back(*f);
    d.feed(std::string_view(wire).substr(split));
    while (auto f = d.next()) got.push_back(*f);
    ASSERT_EQ(got.size(), 3u) << "split at " << split;
    EXPECT_EQ(got[0].type, MsgType::Ready);
    EXPECT_EQ(got[1].payload, R"({"code":3})");
    EXPECT_EQ(got[1].stream, 7);
    EXPECT_EQ(got[2].type, MsgType::ExecData);
    EXPECT_EQ(got[2].stream, 65535);
    EXPECT_EQ(got[2].payload, std::string("\0\xff bin", 6));
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(GuestProtocol, HeaderIsLittleEndianLengthTypeFlagsStream) {
  std::string f = encode_frame(MsgType::Signal, "abc", 0x0102);
  ASSERT_EQ(f.size(), kHeaderSize + 3);
  EXPECT_EQ(f.substr(0, 8), std::string("\x03\x00\x00\x00\x04\x00\x02\x01", 8));
}

TEST(GuestProtocol, RejectsOversizedLengthBeforeBufferingIt) {
  FrameDecoder d;
  d.feed(std::string("\x01\x00\x10\x00\x01\x00\x00\x00", 8));  // 1 MiB + 1
  EXPECT_THROW(d.next(), ProtocolError);
  FrameDecoder ok;
  ok.feed(std::string("\x00\x00\x10\x00\x01\x00\x00\x00", 8));  // exactly 1 MiB: waits for the payload
  EXPECT_FALSE(ok.next());
}

TEST(GuestProtocol, RejectsUnknownFlags) {
  FrameDecoder d;
  d.feed(std::string("\x00\x00\x00\x00\x01\x80\x00\x00", 8));
  EXPECT_THROW(d.next(), ProtocolError);
}

TEST(GuestProtocol, EncodeRefusesTooLargePayload) {
  EXPECT_THROW(encode_frame(MsgType::ExecData, std::string(kMaxPayload + 1, 'x')), ProtocolError);
}

TEST(GuestProtocol, RandomBytesNeverCrashOrOverread) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(rng() % 64, '\0');
    for (auto& c : junk) c = char(rng());
    FrameDecoder d;
    d.feed(junk);
    try {
      while (auto f = d.next()) EXPECT_LE(f->payload.size(), kMaxPayload);
    } catch (const ProtocolError&) {
    }
  }
}
