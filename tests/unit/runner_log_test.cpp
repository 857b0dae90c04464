#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/log_file.h"
#include "util/fs.h"

namespace mcpvm::runner {
namespace {

TEST(LastLines, Basics) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc\n");
  EXPECT_EQ(last_lines("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb\nc\n", 10), "a\nb\nc\n");
  EXPECT_EQ(last_lines("a\nb\nc\n", 0), "");
  EXPECT_EQ(last_lines("a\nb\nc\n", -1), "a\nb\nc\n");
  EXPECT_EQ(last_lines("", 3), "");
  EXPECT_EQ(last_lines("\n\n\n", 2), "\n\n");
}

TEST(RotatingLog, CapsSizeAndKeepsNewestLines) {
  TempDir dir;
  auto path = dir.path() / "server.log";
  {
    RotatingLog log(path, 1024, 3);
    for (int i = 0; i < 1000; ++i) log.write(fmt::format("line {:04}\n", i));
  }
  uint64_t total = 0;
  auto gens = log_generations(path);
  EXPECT_EQ(gens.size(), 3u);
  for (auto& g : gens) {
    struct stat st;
    ASSERT_EQ(::stat(g.c_str(), &st), 0);
    EXPECT_LE(uint64_t(st.st_size), 1024u);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    total += uint64_t(st.st_size);
  }
  EXPECT_LE(total, 3u * 1024u);
  EXPECT_EQ(tail_lines(path, 2), "line 0998\nline 0999\n");
  // Lines are never split by rotation, so the retained text is whole lines in order.
  std::string all = tail_lines(path, -1);
  EXPECT_EQ(all.substr(all.size() - 10), "line 0999\n");
  EXPECT_EQ(all.find("line 0000"), std::string::npos);
}

TEST(RotatingLog, AppendsToAnExistingFile) {
  TempDir dir;
  auto path = dir.path() / "x.log";
  { RotatingLog(path).write("one\n"); }
  { RotatingLog(path).write("two\n"); }
  EXPECT_EQ(read_file(path), "one\ntwo\n");
}

// The runner's own log: stderr mirrors the current file, and bytes written straight to stderr (library
// messages) count toward the cap, so runner.log stays bounded too.
TEST(RotatingLog, MirroredFdFollowsRotationAndCountsForeignWrites) {
  TempDir dir;
  auto path = dir.path() / "runner.log";
  {
    RotatingLog log(path, 1024, 2);
    int mirror = ::dup(1);  // a scratch fd number the log redirects
    log.mirror_to_fd(mirror);
    for (int i = 0; i < 300; ++i) {
      std::string foreign = fmt::format("foreign {:04}\n", i);
      ASSERT_EQ(::write(mirror, foreign.data(), foreign.size()), ssize_t(foreign.size()));
      log.write(fmt::format("note {:04}\n", i));
    }
    ::close(mirror);
  }
  auto gens = log_generations(path);
  EXPECT_EQ(gens.size(), 2u);
  for (auto& g : gens) {
    struct stat st;
    ASSERT_EQ(::stat(g.c_str(), &st), 0);
    // One foreign line may land after the check that rotated: at most one line over the cap.
    EXPECT_LE(uint64_t(st.st_size), 1024u + 13u) << g;
  }
  std::string current = read_file(path);
  EXPECT_NE(current.find("foreign 0299\n"), std::string::npos) << "stderr writes land in the current file";
  EXPECT_NE(current.find("note 0299\n"), std::string::npos);
}

}  // namespace
}  // namespace mcpvm::runner
