// The hostile-layer corpus (tests/fixtures/hostile/make-corpus.py) through the real builder. For every
// case: the exact rejection or the exact content the OCI spec implies, and proof that nothing was written
// outside the output directory: the whole sandbox (corpus, a decoy victim tree, the working directory)
// is snapshotted around each build, and the host paths the corpus aims at are checked too.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "rootfs/build.h"
#include "rootfs_testing.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/sha256.h"

namespace mcpvm::rootfs {
namespace {

using namespace testing;

// Everything observable about a tree, by path (symlinks not followed).
using Snapshot = std::map<std::string, std::string>;

Snapshot snapshot(const fs::path& root) {
  Snapshot s;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    std::string what = fmt::format("mode={:o} size={} mtime={}.{}", st.st_mode, st.st_size, st.st_mtim.tv_sec,
                                   st.st_mtim.tv_nsec);
    what += fmt::format(" ino={}", st.st_ino);
    if (S_ISREG(st.st_mode) && st.st_size < (1 << 20))
      what += " sha256=" + Sha256::hex(read_file(it->path()));
    if (S_ISLNK(st.st_mode)) what += " -> " + fs::read_symlink(it->path()).string();
    s[fs::relative(it->path(), root).string()] = what;
  }
  return s;
}

// "+path", "-path", "~path" for every difference; empty when equal.
std::string diff(const Snapshot& before, const Snapshot& after) {
  std::string out;
  for (const auto& [k, v] : before) {
    if (!after.contains(k))
      out += "-" + k + "\n";
    else if (after.at(k) != v)
      out += "~" + k + " (" + v + " -> " + after.at(k) + ")\n";
  }
  for (const auto& [k, v] : after)
    if (!before.contains(k)) out += "+" + k + "\n";
  return out;
}

// Host files a hostile layer would like to touch.
std::string host_state() {
  std::string state;
  for (const char* p : {"/etc/passwd", "/etc/shadow", "/etc/hosts"}) {
    std::error_code ec;
    state += fmt::format("{}:{}\n", p, fs::exists(p, ec) ? Sha256::hex(read_file(p)) : "absent");
  }
  for (const char* p : {"/evil", "/etc/evil", "/tmp/evil", "/root/etc/evil", "/tmp/tmp/evil"}) {
    std::error_code ec;
    state += fmt::format("{}:{}\n", p, fs::exists(fs::symlink_status(p, ec)) ? "EXISTS" : "absent");
  }
  return state;
}

// The corpus names non-printable bytes as \xNN.
std::string escape(std::string_view name) {
  std::string out;
  for (unsigned char c : name)
    out += (c >= 0x20 && c < 0x7f && c != '\\') ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
  return out;
}

mode_t type_of(const std::string& name) {
  static const std::map<std::string, mode_t> types = {
      {"file", AE_IFREG}, {"dir", AE_IFDIR}, {"symlink", AE_IFLNK}, {"chr", AE_IFCHR}, {"fifo", AE_IFIFO}};
  return types.at(name);
}

class HostileCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    corpus_ = sandbox_.path() / "corpus";
    CommandResult r =
        run_command({"python3", MCPVM_SOURCE_DIR "/tests/fixtures/hostile/make-corpus.py", corpus_.string()});
    ASSERT_EQ(r.status.code(), 0) << r.err;
    fs::create_directories(sandbox_.path() / "victim" / "etc");
    write_file_atomic(sandbox_.path() / "victim" / "etc" / "passwd", "root:x:0:0::/root:/bin/sh\n");
    fs::create_directories(sandbox_.path() / "cwd");
    fs::create_directories(out_dir());
  }
  fs::path out_dir() const { return sandbox_.path() / "home" / "rootfs"; }

  void run_case(const nlohmann::json& c) {
    std::string name = c.at("name");
    SCOPED_TRACE("case " + name);
    std::vector<LayerSource> layers;
    for (const auto& f : c.at("layers")) layers.push_back(layer(corpus_ / f.get<std::string>()));
    fs::path out = out_dir() / (name + ".sqfs");
    Snapshot before = snapshot(sandbox_.path());
    std::string host_before = host_state();
    std::string error;
    try {
      build_squashfs(layers, out);
    } catch (const Error& e) {
      error = e.what();
    }
    Snapshot after = snapshot(sandbox_.path());
    // The output directory itself may change (its mtime, from the temp file); nothing else may.
    before.erase("home/rootfs");
    after.erase("home/rootfs");
    EXPECT_EQ(host_state(), host_before);
    std::string out_rel = fs::relative(out, sandbox_.path()).string();
    if (c.contains("reject")) {
      EXPECT_NE(error.find(c.at("reject").get<std::string>()), std::string::npos)
          << "expected rejection containing '" << c.at("reject").get<std::string>() << "', got: '" << error
          << "'";
      EXPECT_EQ(diff(before, after), "") << "a rejected build changed the sandbox";
      return;
    }
    ASSERT_EQ(error, "");
    // The only change anywhere in the sandbox: the new squashfs.
    ASSERT_TRUE(after.contains(out_rel));
    after.erase(out_rel);
    EXPECT_EQ(diff(before, after), "") << "the build changed the sandbox beyond its output";
    Listing listing;
    for (auto& [path, node] : read_squashfs(out)) listing[escape(path)] = node;
    for (const auto& [path, want] : c.at("present").items()) {
      ASSERT_TRUE(listing.contains(path)) << "missing " << path;
      const Node& n = listing.at(path);
      EXPECT_EQ(n.type, type_of(want.at("type"))) << path;
      if (want.contains("data")) {
        EXPECT_EQ(n.data, want.at("data").get<std::string>()) << path;
      }
      if (want.contains("link")) {
        EXPECT_EQ(n.link, want.at("link").get<std::string>()) << path;
      }
      if (want.contains("mode")) {
        EXPECT_EQ(n.perm, want.at("mode").get<mode_t>()) << path;
      }
    }
    for (const auto& path : c.at("absent")) EXPECT_FALSE(listing.contains(path.get<std::string>())) << path;
  }

  TempDir sandbox_;
  fs::path corpus_;
};

TEST_F(HostileCorpus, EveryCaseIsRejectedOrExactAndTheHostIsUntouched) {
  // Relative paths, if anything used them, would land in the sandbox and show up in its snapshot.
  fs::path old_cwd = fs::current_path();
  fs::current_path(sandbox_.path() / "cwd");
  nlohmann::json cases = nlohmann::json::parse(read_file(corpus_ / "cases.json"));
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) run_case(c);
  fs::current_path(old_cwd);
}

}  // namespace
}  // namespace mcpvm::rootfs
