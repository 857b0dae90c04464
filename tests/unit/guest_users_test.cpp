#include <gtest/gtest.h>

#include <random>

#include "guest/users.h"

using namespace mcpvm::guest;

namespace {
const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "app:x:1000:1000:app:/home/app:/bin/sh\r\n"
    "broken line without fields\n"
    "neg:x:-1:0::/:/bin/sh\n"
    "big:x:99999999999:0::/:/bin/sh\n"
    ":x:5:5::/:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false";
const char* kGroup =
    "root:x:0:\n"
    "app:x:1000:\n"
    "extra:x:2000:app,other\n"
    "more:x:2001:other,app\n"
    "bad:x:notanumber:app\n"
    "nogroup:x:65534:\n";

struct Users {
  std::vector<PasswdEntry> passwd = parse_passwd(kPasswd);
  std::vector<GroupEntry> groups = parse_group(kGroup);
  ResolvedUser operator()(std::string_view spec) const { return resolve_user(spec, passwd, groups); }
};
}  // namespace

TEST(GuestUsers, ParsesOnlyWellFormedLines) {
  Users u;
  ASSERT_EQ(u.passwd.size(), 3u);
  EXPECT_EQ(u.passwd[1].name, "app");
  EXPECT_EQ(u.passwd[1].home, "/home/app");
  EXPECT_EQ(u.groups.size(), 5u);
}

TEST(GuestUsers, ParseIdRejectsJunk) {
  EXPECT_EQ(parse_id("0"), 0u);
  EXPECT_EQ(parse_id("4294967294"), 4294967294u);
  for (const char* bad : {"", "-1", "1x", " 1", "4294967295", "99999999999", "0x10"})
    EXPECT_FALSE(parse_id(bad)) << bad;
}

TEST(GuestUsers, EmptySpecIsRoot) {
  auto r = Users{}("");
  EXPECT_EQ(r.uid, 0u);
  EXPECT_EQ(r.gid, 0u);
  EXPECT_EQ(r.home, "/root");
}

TEST(GuestUsers, NameGetsPrimaryAndSupplementaryGroups) {
  auto r = Users{}("app");
  EXPECT_EQ(r.uid, 1000u);
  EXPECT_EQ(r.gid, 1000u);
  EXPECT_EQ(r.groups, (std::vector<gid_t>{1000, 2000, 2001}));
  EXPECT_EQ(r.home, "/home/app");
}

TEST(GuestUsers, NumericUidKnownOrNot) {
  auto known = Users{}("1000");
  EXPECT_EQ(known.gid, 1000u);
  EXPECT_EQ(known.groups.size(), 3u);
  auto unknown = Users{}("4242");
  EXPECT_EQ(unknown.uid, 4242u);
  EXPECT_EQ(unknown.gid, 0u);
  EXPECT_EQ(unknown.home, "/");
  EXPECT_EQ(unknown.groups, (std::vector<gid_t>{0}));
}

TEST(GuestUsers, ExplicitGroupReplacesSupplementaryGroups) {
  auto r = Users{}("app:extra");
  EXPECT_EQ(r.uid, 1000u);
  EXPECT_EQ(r.gid, 2000u);
  EXPECT_EQ(r.groups, (std::vector<gid_t>{2000}));
  auto n = Users{}("1234:5678");
  EXPECT_EQ(n.uid, 1234u);
  EXPECT_EQ(n.gid, 5678u);
}

TEST(GuestUsers, UnknownNamesAreErrors) {
  EXPECT_THROW(Users{}("nosuch"), UserError);
  EXPECT_THROW(Users{}("app:nosuch"), UserError);
  EXPECT_THROW(Users{}("-1"), UserError);  // not an id, so a name, and no such name
}

TEST(GuestUsers, RandomFilesNeverCrash) {
  std::mt19937 rng(7);
  const std::string alphabet = "root:x0123456789,\n\r#-app";
  for (int round = 0; round < 3000; ++round) {
    std::string text(rng() % 200, ' ');
    for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    auto p = parse_passwd(text);
    auto g = parse_group(text);
    for (const char* spec : {"", "root", "0:0", "app:root", "1:x"}) {
      try {
        resolve_user(spec, p, g);
      } catch (const UserError&) {
      }
    }
  }
}
