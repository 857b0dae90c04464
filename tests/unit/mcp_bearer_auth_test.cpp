// The endpoint's credential check (mcp/bearer_auth.h) as a table: every way a header can be wrong.
#include <gtest/gtest.h>

#include <set>

#include "mcp/bearer_auth.h"

namespace mcpvm::mcp {
namespace {

const std::string kToken(64, 'a');

TEST(BearerAuth, NewTokensAre256BitsOfHexAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = new_bearer_token();
    EXPECT_EQ(t.size(), 64u);
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos) << t;
    EXPECT_TRUE(is_valid_bearer_token(t));
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(BearerAuth, ChecksEveryHeaderShape) {
  struct Case {
    std::optional<std::string> header;
    BearerCheck want;
  };
  const Case cases[] = {
      {std::nullopt, BearerCheck::missing},
      {"", BearerCheck::missing},
      {"Bearer", BearerCheck::missing},
      {"Basic " + kToken, BearerCheck::missing},
      {"Bearer" + kToken, BearerCheck::missing},  // no space after the scheme
      {"Bearer " + kToken, BearerCheck::ok},
      {"bearer " + kToken, BearerCheck::ok},  // the scheme is case-insensitive
      {"BEARER   " + kToken, BearerCheck::ok},
      {"Bearer " + kToken + " ", BearerCheck::ok},
      {"Bearer ", BearerCheck::invalid},
      {"Bearer " + kToken.substr(1), BearerCheck::invalid},  // a prefix
      {"Bearer " + kToken + "a", BearerCheck::invalid},      // an extension
      {"Bearer " + std::string(63, 'a') + "b", BearerCheck::invalid},
      {"Bearer " + std::string(64, 'A'), BearerCheck::invalid},  // the token is case-sensitive
      {"Bearer " + kToken + ", Bearer x", BearerCheck::invalid},
      {std::string("Bearer ") + std::string(1, '\0') + kToken, BearerCheck::invalid},
  };
  for (const auto& c : cases) {
    std::optional<std::string_view> h;
    if (c.header) h = *c.header;
    EXPECT_EQ(check_bearer(h, kToken), c.want) << (c.header ? *c.header : "(none)");
  }
}

TEST(BearerAuth, AnEmptyExpectedTokenAdmitsNobody) {
  EXPECT_EQ(check_bearer(std::string_view("Bearer "), ""), BearerCheck::invalid);
  EXPECT_EQ(check_bearer(std::string_view("Bearer x"), ""), BearerCheck::invalid);
}

TEST(BearerAuth, ChallengeSaysWhetherATokenWasWrong) {
  EXPECT_EQ(www_authenticate(BearerCheck::missing), "Bearer realm=\"mcpvm\"");
  EXPECT_EQ(www_authenticate(BearerCheck::invalid), "Bearer realm=\"mcpvm\", error=\"invalid_token\"");
}

TEST(BearerAuth, ValidTokenShapes) {
  EXPECT_FALSE(is_valid_bearer_token(""));
  EXPECT_FALSE(is_valid_bearer_token(std::string(31, 'a')));
  EXPECT_TRUE(is_valid_bearer_token(std::string(32, 'a')));
  EXPECT_FALSE(is_valid_bearer_token(std::string(257, 'a')));
  EXPECT_FALSE(is_valid_bearer_token(std::string(40, 'a') + " b"));
  EXPECT_FALSE(is_valid_bearer_token(std::string(40, 'a') + "\n"));
}

}  // namespace
}  // namespace mcpvm::mcp
