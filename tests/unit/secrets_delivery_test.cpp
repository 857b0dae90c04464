// Providers and the CLI→runner delivery (secrets/delivery.h): the environment provider wins over the
// store, a missing secret names itself and the providers tried, the runner's re-resolution sees a secret
// removed since, and the delivery survives its wire form over a real socket.
#include <gtest/gtest.h>

#include <cstdlib>

#include "secrets/delivery.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/socket.h"

namespace mcpvm::secrets {
namespace {

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv(kPassphraseVar, "pass", 1); }
  void TearDown() override {
    ::unsetenv(kPassphraseVar);
    ::unsetenv("MCPVM_SECRET_fromenv");
    ::unsetenv("MCPVM_SECRET_both");
  }
  SecretStore store() const { return SecretStore(dir_.path() / "secrets" / "store"); }
  TempDir dir_;
};

TEST_F(DeliveryTest, EnvironmentProviderFirstThenTheStore) {
  store().set("stored", "from-store");
  store().set("both", "store-loses");
  ::setenv("MCPVM_SECRET_fromenv", "from-env", 1);
  ::setenv("MCPVM_SECRET_both", "env-wins", 1);
  std::vector<SecretRef> refs{{"stored", "A"}, {"fromenv", "B"}, {"both", "C"}};
  Delivery d = prepare_delivery(refs, store());
  EXPECT_TRUE(d.key.has_value());
  EXPECT_EQ(resolve_env(refs, d), (std::vector<std::string>{"A=from-store", "B=from-env", "C=env-wins"}));
}

TEST_F(DeliveryTest, OnlyEnvironmentNeedsNoStoreAndNoKey) {
  ::setenv("MCPVM_SECRET_fromenv", "v", 1);
  ::unsetenv(kPassphraseVar);  // the store is never opened
  Delivery d = prepare_delivery({{"fromenv", "X"}}, store());
  EXPECT_FALSE(d.key.has_value());
  EXPECT_EQ(resolve_env({{"fromenv", "X"}}, d), std::vector<std::string>{"X=v"});
}

TEST_F(DeliveryTest, MissingSecretNamesItAndTheProvidersTried) {
  for (bool store_exists : {false, true}) {
    if (store_exists) store().set("other", "x");
    try {
      prepare_delivery({{"github", "GITHUB_TOKEN"}}, store());
      FAIL() << "accepted a missing secret";
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("secret github: not found"), std::string::npos) << m;
      EXPECT_NE(m.find("MCPVM_SECRET_github"), std::string::npos) << m;
      EXPECT_NE(m.find(store().path().string()), std::string::npos) << m;
      EXPECT_EQ(m.find("(absent)") != std::string::npos, !store_exists) << m;
      EXPECT_NE(m.find("mcpvm secret set github"), std::string::npos) << m;
    }
  }
}

TEST_F(DeliveryTest, RemovedSinceRunFailsTheNextResolution) {
  store().set("github", "v1");
  std::vector<SecretRef> refs{{"github", "T"}};
  Delivery d = prepare_delivery(refs, store());
  ::unsetenv(kPassphraseVar);  // the runner has no passphrase: only the delivered key
  EXPECT_EQ(resolve_env(refs, d), std::vector<std::string>{"T=v1"});
  ::setenv(kPassphraseVar, "pass", 1);
  store().set("github", "v2");
  ::unsetenv(kPassphraseVar);
  EXPECT_EQ(resolve_env(refs, d), std::vector<std::string>{"T=v2"}) << "each boot reads the store again";
  ::setenv(kPassphraseVar, "pass", 1);
  store().remove("github");
  ::unsetenv(kPassphraseVar);
  try {
    resolve_env(refs, d);
    FAIL() << "resolved a removed secret";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("secret github: not found"), std::string::npos) << e.what();
  }
}

TEST_F(DeliveryTest, SurvivesTheSocketAndRefusesMalformedInput) {
  store().set("stored", "s3cr3t");
  ::setenv("MCPVM_SECRET_fromenv", "e\nv=\"x\"", 1);
  std::vector<SecretRef> refs{{"stored", "A"}, {"fromenv", "B"}};
  Delivery d = prepare_delivery(refs, store());
  auto [a, b] = stream_socketpair();
  send_delivery(a.get(), d);
  Delivery back = receive_delivery(b.get());
  ::unsetenv(kPassphraseVar);
  EXPECT_EQ(resolve_env(refs, back), (std::vector<std::string>{"A=s3cr3t", "B=e\nv=\"x\""}));
  for (const char* bad :
       {"", "[]", "{}", R"({"version":2,"store":"/x","env":{}})",
        R"({"version":1,"store":"/x","env":{"bad name":"v"}})", R"({"version":1,"store":"/x","env":{"a":1}})",
        R"({"version":1,"store":"/x","env":{},"key":"zz","kdf":{}})"})
    EXPECT_THROW(decode_delivery(bad), std::exception) << bad;
}

TEST(SecretEnvironment, ChildrenGetNoSecretVariables) {
  ::setenv("MCPVM_SECRET_x", "v", 1);
  ::setenv(kPassphraseVar, "p", 1);
  ::setenv("MCPVM_SECRETARY", "kept", 1);  // only the exact prefix MCPVM_SECRET_ is a provider
  auto env = environment_without_secrets();
  for (const auto& e : env) {
    EXPECT_NE(e.rfind("MCPVM_SECRET_", 0), 0u) << e;
    EXPECT_NE(e.rfind("MCPVM_SECRETS_PASSPHRASE", 0), 0u) << e;
  }
  EXPECT_NE(std::find(env.begin(), env.end(), "MCPVM_SECRETARY=kept"), env.end());
  remove_secrets_from_environment();
  EXPECT_EQ(std::getenv("MCPVM_SECRET_x"), nullptr);
  EXPECT_EQ(std::getenv(kPassphraseVar), nullptr);
  ::unsetenv("MCPVM_SECRETARY");
}

}  // namespace
}  // namespace mcpvm::secrets
