// Adversarial tests of the frame parsers, the length-prefixed stream decoder and the DNS codec.
#include <gtest/gtest.h>

#include <random>

#include "net/dns.h"
#include "net/frame_stream.h"
#include "net/packet.h"
#include "unit/net_test_frames.h"

namespace mcpvm::net {
namespace {

TEST(NetPacket, ParsesTcpSyn) {
  Bytes f = test::tcp_frame(0x0a00020f, 0x0a000202, 40000, 8080, kTcpSyn);
  auto frame = parse_frame(f);
  ASSERT_TRUE(frame);
  ASSERT_TRUE(frame->ipv4);
  EXPECT_EQ(frame->ipv4->dst, 0x0a000202u);
  ASSERT_TRUE(frame->ports);
  EXPECT_EQ(frame->ports->dst_port, 8080);
  EXPECT_EQ(frame->ports->tcp_flags, kTcpSyn);
}

TEST(NetPacket, ParsesUdpPayload) {
  Bytes payload{1, 2, 3};
  Bytes f = build_udp_frame({{}, {}, 0x0a00020f, 0x0a000203, 1234, 53, payload});
  auto frame = parse_frame(f);
  ASSERT_TRUE(frame && frame->ports);
  EXPECT_EQ(frame->ports->src_port, 1234);
  EXPECT_EQ(Bytes(frame->udp_payload.begin(), frame->udp_payload.end()), payload);
  // The checksums we build are valid: summing over the IP header gives 0.
  EXPECT_EQ(internet_checksum(ByteView(f).subspan(14, 20)), 0);
}

TEST(NetPacket, RejectsEveryTruncation) {
  std::vector<Bytes> frames = {test::tcp_frame(1, 2, 3, 4, kTcpSyn),
                               build_udp_frame({{}, {}, 1, 2, 3, 4, Bytes(10, 7)}), test::arp_frame(),
                               test::ipv6_frame()};
  for (const auto& f : frames) {
    ASSERT_TRUE(parse_frame(f)) << "full frame must parse";
    for (size_t len = 0; len < f.size(); ++len) {
      auto parsed = parse_frame(ByteView(f).first(len));
      // A truncated IP packet must never parse as if complete.
      if (parsed) {
        EXPECT_FALSE(parsed->ipv4 || parsed->ipv6 || parsed->arp) << "length " << len;
      }
    }
  }
}

TEST(NetPacket, RejectsLyingLengths) {
  Bytes f = test::tcp_frame(1, 2, 3, 4, kTcpSyn);
  Bytes bad_ihl = f;
  bad_ihl[14] = 0x44;  // header length 16 < 20
  EXPECT_FALSE(parse_frame(bad_ihl));
  Bytes huge_total = f;
  huge_total[16] = 0xff;  // total length beyond the frame
  EXPECT_FALSE(parse_frame(huge_total));
  Bytes bad_tcp_offset = f;
  bad_tcp_offset[14 + 20 + 12] = 0xf0;  // data offset 60 > segment
  EXPECT_FALSE(parse_frame(bad_tcp_offset));
  Bytes udp = build_udp_frame({{}, {}, 1, 2, 3, 4, Bytes(4, 0)});
  udp[14 + 20 + 4] = 0x40;  // UDP length beyond the packet
  EXPECT_FALSE(parse_frame(udp));
}

TEST(NetPacket, FragmentsAreMarkedAndNotParsedFurther) {
  Bytes f = test::tcp_frame(1, 2, 3, 4, kTcpSyn);
  f[14 + 6] = 0x20;  // more fragments
  auto frame = parse_frame(f);
  ASSERT_TRUE(frame && frame->ipv4);
  EXPECT_TRUE(frame->ipv4->fragmented());
  EXPECT_FALSE(frame->ports);
}

TEST(NetPacket, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    Bytes f(rng() % 200);
    for (auto& b : f) b = static_cast<uint8_t>(rng());
    if (f.size() > 13 && i % 2) {  // make half of them look like IPv4 to reach deeper code
      f[12] = 0x08;
      f[13] = 0x00;
      if (f.size() > 14) f[14] = static_cast<uint8_t>(0x45 + (rng() % 4));
    }
    (void)parse_frame(f);
  }
}

TEST(NetFrameStream, SplitsFramesAcrossReads) {
  Bytes stream;
  append_frame(stream, Bytes{1, 2, 3});
  append_frame(stream, Bytes{});
  append_frame(stream, Bytes(1000, 9));
  FrameDecoder d;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < stream.size(); i += 7)
    d.feed(ByteView(stream).subspan(i, std::min<size_t>(7, stream.size() - i)),
           [&](ByteView f) { sizes.push_back(f.size()); });
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 1000}));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(NetFrameStream, SkipsOversizedFramesAndResynchronizes) {
  Bytes stream;
  put_u32(stream, kMaxFrameSize + 10);
  stream.insert(stream.end(), kMaxFrameSize + 10, 0xaa);
  append_frame(stream, Bytes{5, 6});
  FrameDecoder d;
  std::vector<Bytes> frames;
  for (size_t i = 0; i < stream.size(); i += 4096)
    d.feed(ByteView(stream).subspan(i, std::min<size_t>(4096, stream.size() - i)),
           [&](ByteView f) { frames.emplace_back(f.begin(), f.end()); });
  EXPECT_EQ(d.oversized_frames(), 1u);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], (Bytes{5, 6}));
  EXPECT_LT(d.buffered(), 16u);  // never buffered the oversized frame
}

TEST(NetDns, ParsesQueryAndAnswers) {
  Bytes q = test::dns_query(0x1234, "API.Example.com", kDnsTypeA);
  auto r = parse_dns_query(q);
  ASSERT_TRUE(r.query) << r.error;
  EXPECT_EQ(r.query->name, "api.example.com");
  EXPECT_EQ(r.query->qtype, kDnsTypeA);
  Bytes answer = build_dns_response(*r.query, kDnsNoError, {0x01020304, 0x05060708}, 60);
  EXPECT_EQ(get_u16(answer, 0), 0x1234);
  EXPECT_EQ(get_u16(answer, 2) & 0x800f, 0x8000);  // a response, NOERROR
  EXPECT_EQ(get_u16(answer, 6), 2);                // two answers
  // The question is echoed with its original case (0x20-randomizing resolvers compare it).
  size_t offset = 12;
  auto labels = read_dns_name(answer, offset);
  ASSERT_TRUE(labels);
  EXPECT_EQ((*labels)[0], "API");
  EXPECT_EQ(get_u32(answer, answer.size() - 4), 0x05060708u);
  Bytes nx = build_dns_response(*r.query, kDnsNxDomain, {0x01020304}, 60);
  EXPECT_EQ(get_u16(nx, 2) & 0xf, kDnsNxDomain);
  EXPECT_EQ(get_u16(nx, 6), 0);
}

TEST(NetDns, RejectsManyQuestions) {
  Bytes q = test::dns_query(7, "a.example", kDnsTypeA);
  q[5] = 50;
  auto r = parse_dns_query(q);
  EXPECT_FALSE(r.query);
  ASSERT_TRUE(r.id);
  EXPECT_EQ(*r.id, 7);
  EXPECT_EQ(r.rcode, kDnsFormErr);
}

TEST(NetDns, RejectsCompressionLoopsAndForwardPointers) {
  Bytes header = test::dns_query(1, "x", kDnsTypeA);
  header.resize(12);
  Bytes self_loop = header;
  self_loop.insert(self_loop.end(), {0xc0, 12, 0, 1, 0, 1});  // points at itself
  EXPECT_FALSE(parse_dns_query(self_loop).query);
  Bytes forward = header;
  forward.insert(forward.end(), {0xc0, 14, 1, 'a', 0, 0, 1, 0, 1});
  EXPECT_FALSE(parse_dns_query(forward).query);
  Bytes two_step = header;  // label then a pointer back to the start: a loop through two names
  two_step.insert(two_step.end(), {1, 'a', 0xc0, 12, 0, 1, 0, 1});
  EXPECT_FALSE(parse_dns_query(two_step).query);
}

TEST(NetDns, RejectsOverlongNamesAndBadCharacters) {
  std::string long_name;
  for (int i = 0; i < 10; ++i) long_name += std::string(30, 'a') + ".";
  long_name.pop_back();
  EXPECT_FALSE(parse_dns_query(test::dns_query(1, long_name, kDnsTypeA)).query);
  EXPECT_FALSE(parse_dns_query(test::dns_query(1, "a b.example", kDnsTypeA)).query);
  Bytes dotted = test::dns_query(1, "ab.example", kDnsTypeA);
  dotted[14] = '.';  // a '.' inside a label would make "a.b" look like two labels
  EXPECT_FALSE(parse_dns_query(dotted).query);
}

TEST(NetDns, RejectsResponsesAndTruncation) {
  Bytes q = test::dns_query(1, "a.example", kDnsTypeA);
  Bytes response = q;
  response[2] |= 0x80;
  EXPECT_FALSE(parse_dns_query(response).query);
  for (size_t len = 0; len < q.size(); ++len)
    EXPECT_FALSE(parse_dns_query(ByteView(q).first(len)).query) << len;
}

TEST(NetDns, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    Bytes m(12 + rng() % 80);
    for (auto& b : m) b = static_cast<uint8_t>(rng() % 4 == 0 ? 0xc0 : rng());
    m[2] = 0;
    m[4] = 0;
    m[5] = 1;
    auto r = parse_dns_query(m);
    if (r.query) (void)build_dns_response(*r.query, kDnsNoError, {1}, 1);
  }
}

TEST(NetPacket, TcpResetAnswersASynWithValidChecksums) {
  Bytes syn = test::tcp_frame(0x0a00020f, 0x5db8d822, 40000, 443, kTcpSyn);
  auto parsed_syn = parse_frame(syn);
  ASSERT_TRUE(parsed_syn);
  EXPECT_EQ(parsed_syn->ports->tcp_seq, 1u);
  Bytes rst = build_tcp_reset(*parsed_syn);
  auto f = parse_frame(rst);
  ASSERT_TRUE(f);
  EXPECT_TRUE(std::equal(rst.begin(), rst.begin() + 6, syn.begin() + 6));  // back to the sender's MAC
  EXPECT_EQ(f->ipv4->src, 0x5db8d822u);
  EXPECT_EQ(f->ipv4->dst, 0x0a00020fu);
  EXPECT_EQ(f->ports->src_port, 443);
  EXPECT_EQ(f->ports->dst_port, 40000);
  EXPECT_EQ(f->ports->tcp_flags, kTcpRst | kTcpAck);
  EXPECT_EQ(get_u32(rst, 14 + 20 + 8), 2u);
  // A header with its checksum in place sums to zero.
  EXPECT_EQ(internet_checksum(ByteView(rst).subspan(14, 20)), 0);
  uint32_t pseudo = 0x5db8 + 0xd822 + 0x0a00 + 0x020f + kProtoTcp + 20;
  EXPECT_EQ(internet_checksum(ByteView(rst).subspan(34), pseudo), 0);
}

}  // namespace
}  // namespace mcpvm::net
