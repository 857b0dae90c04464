#include <gtest/gtest.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/fs.h"

namespace mcpvm {
namespace {

TEST(AtomicFile, UncommittedLeavesNothing) {
  TempDir dir;
  {
    AtomicFile f(dir.path() / "x");
    f.write("partial");
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(AtomicFile, CommitPublishesWithMode0600) {
  TempDir dir;
  write_file_atomic(dir.path() / "x", "hello");
  EXPECT_EQ(read_file(dir.path() / "x"), "hello");
  struct stat st;
  ASSERT_EQ(::stat((dir.path() / "x").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Fs, MakePrivateDirsIs0700AndRejectsFiles) {
  TempDir dir;
  make_private_dirs(dir.path() / "a" / "b");
  struct stat st;
  ASSERT_EQ(::stat((dir.path() / "a" / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  write_file_atomic(dir.path() / "f", "");
  EXPECT_THROW(make_private_dirs(dir.path() / "f" / "g"), Error);
}

TEST(Fs, ReadFileLimit) {
  TempDir dir;
  write_file_atomic(dir.path() / "x", std::string(100, 'a'));
  EXPECT_THROW(read_file(dir.path() / "x", 10), Error);
}

TEST(FileLock, TryLockFailsWhileHeld) {
  TempDir dir;
  FileLock held(dir.path() / "lock");
  // flock locks belong to the open file description, so a second open in the same process conflicts.
  EXPECT_FALSE(FileLock::try_lock(dir.path() / "lock").locked());
}

TEST(Error, ContextIsPrefixed) {
  try {
    with_context("pulling x", [] { fail("layer {} bad", 1); });
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "pulling x: layer 1 bad");
  }
}

}  // namespace
}  // namespace mcpvm
