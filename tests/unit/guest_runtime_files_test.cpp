#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest/runtime_files.h"

using namespace mcpvm::guest;
namespace fs = std::filesystem;

namespace {

// An empty image root (FROM scratch) in a fresh temp dir.
struct ScratchRoot {
  fs::path path;
  ScratchRoot() {
    std::string tmpl = (fs::temp_directory_path() / "guest-root-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~ScratchRoot() { fs::remove_all(path); }
};

std::string contents(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

}  // namespace

TEST(GuestRuntimeFiles, ScratchRootGetsEtcAndTmp) {
  ScratchRoot root;
  provide_runtime_files(root.path, "my-server");
  EXPECT_EQ(mode_of(root.path / "etc"), 0755u);
  EXPECT_EQ(contents(root.path / "etc/hosts"), kDefaultHosts);
  EXPECT_EQ(contents(root.path / "etc/resolv.conf"), "");
  EXPECT_EQ(contents(root.path / "etc/hostname"), "my-server\n");
  EXPECT_EQ(mode_of(root.path / "etc/hosts"), 0644u);
  EXPECT_EQ(mode_of(root.path / "tmp"), 01777u);
}

TEST(GuestRuntimeFiles, TheImagesOwnFilesAreLeftAlone) {
  ScratchRoot root;
  fs::create_directories(root.path / "etc");
  std::ofstream(root.path / "etc/hosts") << "10.1.1.1 image-host\n";
  fs::create_symlink("../run/systemd/resolve/stub-resolv.conf", root.path / "etc/resolv.conf");
  provide_runtime_files(root.path, "");
  EXPECT_EQ(contents(root.path / "etc/hosts"), "10.1.1.1 image-host\n");
  EXPECT_TRUE(fs::is_symlink(root.path / "etc/resolv.conf"));
  EXPECT_EQ(contents(root.path / "etc/hostname"), "");
}

TEST(GuestRuntimeFiles, AFileWhereEtcShouldBeIsAClearError) {
  ScratchRoot root;
  std::ofstream(root.path / "etc") << "not a directory";
  try {
    provide_runtime_files(root.path, "h");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "creating /etc/hosts: Not a directory");
  }
}
