// WWW-Authenticate challenges and docker config credentials.
#include <gtest/gtest.h>

#include "oci/auth.h"
#include "util/error.h"

using mcpvm::Error;
using namespace mcpvm::oci;

namespace {

TEST(OciAuth, BearerChallenge) {
  auto c = parse_challenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ(c[0].params.at("scope"), "repository:samalba/my-app:pull,push");  // comma inside quotes
}

TEST(OciAuth, BasicChallengeCaseAndSpacing) {
  auto c = parse_challenges(R"(  BASIC   Realm = "basic-realm" , charset=UTF-8)");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params.at("realm"), "basic-realm");
  EXPECT_EQ(c[0].params.at("charset"), "UTF-8");
}

TEST(OciAuth, SeveralChallengesAndEscapes) {
  auto c = parse_challenges(
      R"(Basic realm="a \"quoted\" realm", Bearer realm="http://127.0.0.1:1/t",error="invalid_token")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params.at("realm"), "a \"quoted\" realm");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].params.at("realm"), "http://127.0.0.1:1/t");
  EXPECT_EQ(c[1].params.at("error"), "invalid_token");
}

TEST(OciAuth, SchemeWithoutParams) {
  auto c = parse_challenges("Negotiate");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "negotiate");
  EXPECT_TRUE(c[0].params.empty());
}

TEST(OciAuth, MalformedChallenges) {
  for (const char* bad : {"", "   ", R"(Bearer realm="unterminated)",
                          R"(Bearer realm=)"
                          "\"x\" @",
                          "=realm"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_challenges(bad), Error);
  }
}

TEST(OciAuth, Base64) {
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(base64_decode("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_EQ(base64_decode("YWI="), "ab");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_THROW(base64_decode("YQ="), Error);
  EXPECT_THROW(base64_decode("Y=Q="), Error);
  EXPECT_THROW(base64_decode("YQ!="), Error);
}

TEST(OciAuth, Creds) {
  Credentials c = parse_creds("me:p:w");
  EXPECT_EQ(c.username, "me");
  EXPECT_EQ(c.password, "p:w");
  EXPECT_THROW(parse_creds("nocolon"), Error);
  EXPECT_THROW(parse_creds(":pw"), Error);
}

TEST(OciAuth, DockerConfig) {
  std::string cfg = R"({"auths": {
    "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
    "127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"},
    "https://reg.example.com": {"username": "u2", "password": "p2"},
    "bad.example.com": {"auth": "!!!"}
  }})";
  auto hub = credentials_from_docker_config(cfg, "docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "hub");
  EXPECT_EQ(hub->password, "secret");
  auto local = credentials_from_docker_config(cfg, "127.0.0.1:5000");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->password, "pass");
  auto ex = credentials_from_docker_config(cfg, "reg.example.com");
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->username, "u2");
  EXPECT_FALSE(credentials_from_docker_config(cfg, "other.example.com"));
  EXPECT_FALSE(credentials_from_docker_config(R"({"credsStore":"desktop"})", "docker.io"));
  EXPECT_THROW(credentials_from_docker_config(cfg, "bad.example.com"), Error);
  EXPECT_THROW(credentials_from_docker_config("not json", "x"), Error);
}

}  // namespace

namespace {
std::string realm_error(std::string_view realm, bool registry_is_https) {
  try {
    check_token_realm(realm, registry_is_https);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(OciAuth, AnHttpsRegistryMayOnlySendUsToAnHttpsTokenServer) {
  EXPECT_EQ(realm_error("https://auth.docker.io/token", true), "(no error)");
  EXPECT_EQ(realm_error("HTTPS://auth.example/token", true), "(no error)");
  EXPECT_EQ(realm_error("http://auth.example/token", true),
            "the registry's token server http://auth.example/token is plain http: refusing to send "
            "credentials in the clear (only a plain-http registry, --tls-verify=false, may use one)");
  EXPECT_EQ(realm_error("HTTP://auth.example/token", true).substr(0, 64),
            "the registry's token server HTTP://auth.example/token is plain h");
}

TEST(OciAuth, APlainHttpRegistryMayUseAPlainHttpTokenServer) {
  EXPECT_EQ(realm_error("http://127.0.0.1:5001/token", false), "(no error)");
  EXPECT_EQ(realm_error("https://127.0.0.1:5001/token", false), "(no error)");
}

TEST(OciAuth, ATokenServerMustBeHttpOrHttps) {
  EXPECT_EQ(realm_error("ftp://auth.example/token", false),
            "the registry's token server ftp://auth.example/token is not an http(s) URL");
  EXPECT_EQ(realm_error("/token", true), "the registry's token server /token is not an http(s) URL");
}
