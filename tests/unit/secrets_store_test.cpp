// The encrypted secret store (secrets/store.h, store_format.h, key_source.h, keyring.h) with real
// libsodium, real files, real processes and the real kernel keyring.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>

#include "secrets/keyring.h"
#include "secrets/name.h"
#include "secrets/store.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::secrets {
namespace {

class SecretStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv(kPassphraseVar, "correct horse", 1); }
  void TearDown() override {
    ::unsetenv(kPassphraseVar);
    keyring_forget(store_path());
  }
  std::filesystem::path store_path() const { return dir_.path() / "secrets" / "store"; }
  SecretStore store() const { return SecretStore(store_path()); }

  // Runs fn in a child whose stdin is /dev/null (no terminal to prompt on); returns its error or "ok".
  static std::string in_child_without_terminal(const std::function<void()>& fn) {
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      std::string result = "ok";
      try {
        fn();
      } catch (const std::exception& e) {
        result = e.what();
      }
      [[maybe_unused]] auto n = ::write(p[1], result.data(), result.size());
      ::_exit(0);
    }
    ::close(p[1]);
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    ::close(p[0]);
    ::waitpid(pid, nullptr, 0);
    return out;
  }

  TempDir dir_;
};

TEST_F(SecretStoreTest, RoundTripIsEncryptedAndPrivate) {
  store().set("github", "ghp_s3cr3t-value");
  store().set("slack", "xoxb-1");
  auto u = store().unlock();
  ASSERT_TRUE(u);
  ASSERT_TRUE(u->entries.find("github"));
  EXPECT_EQ(*u->entries.find("github"), "ghp_s3cr3t-value");
  EXPECT_EQ(store().names(), (std::vector<std::string>{"github", "slack"}));
  std::string raw = read_file(store_path());
  EXPECT_EQ(raw.find("ghp_s3cr3t-value"), std::string::npos);
  EXPECT_EQ(raw.find("github"), std::string::npos) << "names are encrypted too";
  struct stat st;
  ASSERT_EQ(::stat(store_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(store_path().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(store().remove("slack"));
  std::string after_rm = read_file(store_path());
  EXPECT_FALSE(store().remove("slack"));
  EXPECT_EQ(read_file(store_path()), after_rm) << "removing nothing rewrote the store";
  EXPECT_EQ(store().names(), std::vector<std::string>{"github"});
}

TEST_F(SecretStoreTest, RewritesKeepTheSaltSoACachedKeyStaysValid) {
  store().set("a", "1");
  KdfParams first = parse_header(read_file(store_path()));
  store().set("b", "2");
  EXPECT_EQ(parse_header(read_file(store_path())), first);
}

TEST_F(SecretStoreTest, WrongPassphraseIsAClearErrorAndChangesNothing) {
  store().set("github", "value");
  std::string before = read_file(store_path());
  ::setenv(kPassphraseVar, "wrong", 1);
  try {
    store().set("other", "x");
    FAIL() << "accepted a wrong passphrase";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wrong passphrase"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(store_path().string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(store().unlock(), Error);
  EXPECT_EQ(read_file(store_path()), before);
}

TEST_F(SecretStoreTest, DamagedOrTruncatedFilesAreClearErrorsAndStayAsTheyWere) {
  store().set("github", "value");
  const std::string good = read_file(store_path());
  struct Case {
    std::string name, contents, message;
  };
  std::string flipped = good;
  flipped[flipped.size() - 5] ^= 1;
  std::string header_changed = good;
  header_changed[20] ^= 1;  // the salt: authenticated as associated data
  std::string big_kdf = good;
  big_kdf[19] = char(0x7f);  // memlimit far above the cap
  std::vector<Case> cases = {
      {"empty", "", "bad magic"},
      {"garbage", "hello world, not a store", "bad magic"},
      {"truncated header", good.substr(0, 40), "truncated"},
      {"truncated body", good.substr(0, good.size() - 5), "wrong passphrase, or the store is damaged"},
      {"flipped ciphertext bit", flipped, "wrong passphrase, or the store is damaged"},
      {"changed salt", header_changed, "wrong passphrase, or the store is damaged"},
      {"hostile KDF parameters", big_kdf, "out of range"},
  };
  for (const auto& c : cases) {
    write_file_atomic(store_path(), c.contents);
    for (auto attempt : {0, 1}) {
      try {
        if (attempt == 0)
          store().unlock();
        else
          store().set("new", "x");
        ADD_FAILURE() << c.name << ": accepted";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << c.name << ": " << e.what();
      }
      EXPECT_EQ(read_file(store_path()), c.contents) << c.name << ": the file changed";
    }
  }
}

TEST_F(SecretStoreTest, ConcurrentWritersFromSeveralProcessesLoseNothing) {
  constexpr int kWriters = 6;
  std::vector<pid_t> pids;
  for (int i = 0; i < kWriters; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        for (int k = 0; k < 2; ++k)
          store().set(fmt::format("writer{}-{}", i, k), fmt::format("value-{}-{}", i, k));
      } catch (const std::exception& e) {
        fprintf(stderr, "writer %d: %s\n", i, e.what());
        status = 1;
      }
      ::_exit(status);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto u = store().unlock();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->entries.entries().size(), size_t(kWriters * 2));
  for (int i = 0; i < kWriters; ++i)
    for (int k = 0; k < 2; ++k) {
      const std::string* v = u->entries.find(fmt::format("writer{}-{}", i, k));
      ASSERT_TRUE(v) << i << "-" << k;
      EXPECT_EQ(*v, fmt::format("value-{}-{}", i, k));
    }
  for (const auto& e : std::filesystem::directory_iterator(store_path().parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "leftover " << e.path();
}

TEST_F(SecretStoreTest, BadNamesAreRefusedBeforeAnythingIsWritten) {
  for (const std::string& bad : std::vector<std::string>{
           "", "has space", "slash/x", "semi;colon", std::string("nul\0x", 5), std::string(65, 'a'), "ünï"}) {
    EXPECT_THROW(store().set(bad, "v"), Error) << bad;
    EXPECT_THROW(check_secret_name(bad), Error) << bad;
  }
  EXPECT_FALSE(store().exists());
  for (const std::string& good : std::vector<std::string>{"a", "GitHub_Token.v2-x", std::string(64, 'z')})
    EXPECT_NO_THROW(check_secret_name(good));
}

TEST_F(SecretStoreTest, WithoutPassphraseOrTerminalTheErrorSaysWhatToSet) {
  store().set("github", "value");
  ::unsetenv(kPassphraseVar);
  std::string error = in_child_without_terminal([&] { store().unlock(); });
  EXPECT_NE(error.find("set MCPVM_SECRETS_PASSPHRASE"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
}

TEST_F(SecretStoreTest, KernelKeyringCachesTheKeyAndAStaleOneIsDropped) {
  store().set("github", "value");
  auto u = store().unlock();
  ASSERT_TRUE(u);
  bool cached = keyring_save(store_path(), u->kdf, u->key, std::chrono::seconds(60));
  ::unsetenv(kPassphraseVar);
  std::string with_cache = in_child_without_terminal([&] {
    auto again = SecretStore(store_path()).unlock();
    if (!again || !again->entries.find("github")) throw std::runtime_error("no entry");
  });
  if (!cached) {  // keyrings blocked (seccomp in a container): the cache degrades to "locked"
    EXPECT_FALSE(keyring_load(store_path(), u->kdf).has_value());
    EXPECT_NE(with_cache.find("set MCPVM_SECRETS_PASSPHRASE"), std::string::npos) << with_cache;
    return;
  }
  EXPECT_EQ(with_cache, "ok");
  // A key for another salt is never offered; a wrong key for this salt is dropped after it fails.
  KdfParams other = u->kdf;
  other.salt[0] ^= 1;
  EXPECT_FALSE(keyring_load(store_path(), other).has_value());
  StoreKey wrong;
  ASSERT_TRUE(keyring_save(store_path(), u->kdf, wrong, std::chrono::seconds(60)));
  std::string with_wrong = in_child_without_terminal([&] { SecretStore(store_path()).unlock(); });
  EXPECT_NE(with_wrong.find("set MCPVM_SECRETS_PASSPHRASE"), std::string::npos) << with_wrong;
  EXPECT_FALSE(keyring_load(store_path(), u->kdf).has_value()) << "the stale key was not dropped";
}

TEST(SecretFlags, ToolHiveSyntax) {
  EXPECT_EQ(parse_secret_flag("github,target=GITHUB_TOKEN"), (SecretRef{"github", "GITHUB_TOKEN"}));
  for (const char* bad : {"github", "github,GITHUB_TOKEN", "github,target=", "github,target=1X",
                          "bad name,target=X", ",target=X", "github,target=A-B"})
    EXPECT_THROW(parse_secret_flag(bad), Error) << bad;
  EXPECT_THROW(check_unique_targets({{"a", "X"}, {"b", "X"}}), Error);
  EXPECT_NO_THROW(check_unique_targets({{"a", "X"}, {"a", "Y"}}));
}

}  // namespace
}  // namespace mcpvm::secrets
