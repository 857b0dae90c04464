// $MCPVM_HOME trust: a data directory someone else can write to is refused, as ssh refuses such a ~/.ssh.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"

namespace mcpvm {
namespace {

std::string home_error() {
  try {
    mcpvm_home();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Points $MCPVM_HOME at `dir` for one test.
struct HomeAt {
  explicit HomeAt(const fs::path& dir) { ::setenv("MCPVM_HOME", dir.c_str(), 1); }
  ~HomeAt() { ::unsetenv("MCPVM_HOME"); }
};

TEST(Home, APrivateOrMissingHomeIsAccepted) {
  TempDir dir;
  HomeAt missing(dir.path() / "home");
  EXPECT_EQ(home_error(), "(no error)");
  EXPECT_EQ(ensure_mcpvm_home(), dir.path() / "home");
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "home").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ::chmod((dir.path() / "home").c_str(), 0755);  // readable by others is their business, not a danger
  EXPECT_EQ(home_error(), "(no error)");
}

TEST(Home, AGroupOrWorldWritableHomeIsRefused) {
  TempDir dir;
  HomeAt home(dir.path());
  ::chmod(dir.path().c_str(), 0770);
  EXPECT_EQ(home_error(), fmt::format("{} is writable by its group: refusing to use it (run chmod go-w {})",
                                      dir.path().string(), dir.path().string()));
  ::chmod(dir.path().c_str(), 0703);
  EXPECT_EQ(home_error(), fmt::format("{} is writable by others: refusing to use it (run chmod go-w {})",
                                      dir.path().string(), dir.path().string()));
}

TEST(Home, AHomeOfAnotherUserIsRefused) {
  TempDir dir;
  uid_t other = ::geteuid() == 0 ? 65534 : 0;  // root can hand it to nobody; anyone else: root's
  fs::path home = dir.path() / "home";
  if (::geteuid() == 0) {
    fs::create_directory(home);
    ASSERT_EQ(::chown(home.c_str(), other, other), 0);
  } else {
    home = "/";
  }
  HomeAt at(home);
  EXPECT_EQ(home_error(), fmt::format("{} belongs to uid {}, not to you (uid {}): refusing to use it (set "
                                      "MCPVM_HOME to a directory of your own)",
                                      home.string(), other, ::geteuid()));
}

TEST(Home, AnUnsafeVmsDirectoryIsRefusedToo) {
  TempDir dir;
  HomeAt home(dir.path());
  fs::create_directory(dir.path() / "vms");
  ::chmod((dir.path() / "vms").c_str(), 0777);
  EXPECT_EQ(home_error(),
            fmt::format("{} is writable by its group and others: refusing to use it (run chmod go-w {})",
                        (dir.path() / "vms").string(), (dir.path() / "vms").string()));
}

}  // namespace
}  // namespace mcpvm
