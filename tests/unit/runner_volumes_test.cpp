// runner/volumes.h: -v specs and a ToolHive permission profile's read/write entries become one list of
// volumes (read entries read-only, write entries writable, write upgrades read), or one clear error.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runner/volumes.h"
#include "util/error.h"

namespace mcpvm::runner {
namespace {

namespace fs = std::filesystem;

class Volumes : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mcpvm-volumes-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = fs::canonical(tmpl);
    for (const char* d : {"a", "b", "c"}) fs::create_directories(dir / d);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string profile(const std::string& text) {
    std::ofstream(dir / "profile.json") << text;
    return (dir / "profile.json").string();
  }

  fs::path dir;
};

TEST_F(Volumes, ProfileEntriesBecomeMounts) {
  auto v = build_volumes({"c:/c"}, profile(R"({"read": ["a:/a"], "write": ["b:/b"],
      "network": {"outbound": {"insecure_allow_all": true}}})"),
                         dir);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].guest, "/c");
  EXPECT_FALSE(v[0].read_only);
  EXPECT_EQ(v[1].host, dir / "a");
  EXPECT_TRUE(v[1].read_only);
  EXPECT_EQ(v[2].host, dir / "b");
  EXPECT_FALSE(v[2].read_only);
}

TEST_F(Volumes, WriteUpgradesRead) {
  auto v = build_volumes({}, profile(R"({"read": ["a:/a"], "write": ["a:/a"]})"), dir);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].read_only);
  v = build_volumes({"a:/a"}, profile(R"({"read": ["a:/a"]})"), dir);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].read_only);
}

TEST_F(Volumes, BuiltInProfilesHaveNoMounts) {
  for (const char* p : {"", "none", "network"}) EXPECT_TRUE(build_volumes({}, p, dir).empty()) << p;
}

TEST_F(Volumes, ErrorsNameTheEntry) {
  auto error_of = [&](const std::vector<std::string>& specs, const std::string& prof) -> std::string {
    try {
      build_volumes(specs, prof, dir);
    } catch (const Error& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(error_of({"a:/a:rw:ro"}, "").find("--volume \"a:/a:rw:ro\": expected PATH"), 0u);
  std::string p = profile(R"({"write": ["a:/a:ro"]})");
  EXPECT_EQ(error_of({}, p),
            "permission profile " + p +
                ": write \"a:/a:ro\": a writable entry cannot end in :ro (list it under \"read\")");
  p = profile(R"({"read": ["missing:/m"]})");
  EXPECT_EQ(error_of({}, p).find("permission profile " + p + ": read \"missing:/m\": host path"), 0u);
  EXPECT_EQ(error_of({"a:/x", "b:/x"}, "").find("--volume \"b:/x\": two volumes at guest path /x"), 0u);
}

}  // namespace
}  // namespace mcpvm::runner
