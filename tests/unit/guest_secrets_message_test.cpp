// The Secrets control message (guest/secrets_message.h), as the init parses it: strict, bounded, and
// errors that never quote a value.
#include <gtest/gtest.h>

#include "guest/protocol.h"
#include "guest/secrets_message.h"

namespace mcpvm::guest {
namespace {

TEST(SecretsMessage, RoundTrip) {
  std::vector<std::string> env{"GITHUB_TOKEN=ghp_x=y", "EMPTY=", "MULTI=line1\nline2"};
  EXPECT_EQ(parse_secrets(encode_secrets(env), 3), env);
  EXPECT_EQ(parse_secrets(encode_secrets({}), 0), std::vector<std::string>{});
}

TEST(SecretsMessage, HostilePayloadsAreRefusedWithoutQuotingValues) {
  const std::vector<std::pair<std::string, size_t>> bad = {
      {"", 1},
      {"not json", 1},
      {"[]", 0},
      {R"({"env":"A=s3cr3t"})", 1},
      {R"({"env":["A=s3cr3t"],"extra":1})", 1},
      {R"({"env":["A=s3cr3t"]})", 2},  // count differs from the config's
      {R"({"env":["A=s3cr3t","B=1"]})", 1},
      {R"({"env":[1]})", 1},
      {R"({"env":["NOEQUALS_s3cr3t"]})", 1},
      {R"({"env":["=s3cr3t"]})", 1},
      {R"({"env":["1A=s3cr3t"]})", 1},
      {R"({"env":["A B=s3cr3t"]})", 1},
      {R"({"env":["A=s3cr3t\u0000x"]})", 1},
      {R"({"env":[["A=s3cr3t"]]})", 1},
      {R"({"env":["A=s3cr3t")", 1},
  };
  for (const auto& [payload, expected] : bad) {
    try {
      parse_secrets(payload, expected);
      ADD_FAILURE() << "accepted: " << payload;
    } catch (const ProtocolError& e) {
      EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
    }
  }
  std::string many = R"({"env":[)";
  for (size_t i = 0; i <= kMaxSecretEntries; ++i) many += std::string(i ? "," : "") + "\"A=1\"";
  many += "]}";
  EXPECT_THROW(parse_secrets(many, kMaxSecretEntries + 1), ProtocolError);
  EXPECT_THROW(encode_secrets({"not an entry"}), ProtocolError);
  EXPECT_THROW(encode_secrets({std::string("A=x\0y", 5)}), ProtocolError);
}

TEST(SecretsMessage, WipeOverwritesAndClears) {
  std::vector<std::string> env{"A=secret", "B=other"};
  wipe_strings(env);
  EXPECT_TRUE(env.empty());
  std::string s = "A=secret";
  wipe_string(s);
  EXPECT_TRUE(s.empty());
}

TEST(SecretsMessage, IsAControlFrameType) {
  FrameDecoder d;
  d.feed(encode_frame(MsgType::Secrets, encode_secrets({"A=1"})));
  auto f = d.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, MsgType::Secrets);
  EXPECT_EQ(parse_secrets(f->payload, 1), std::vector<std::string>{"A=1"});
}

}  // namespace
}  // namespace mcpvm::guest
