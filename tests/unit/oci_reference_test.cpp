// Reference parsing against docker's normalisation rules (distribution/reference ParseNormalizedNamed).
#include <gtest/gtest.h>

#include "oci/reference.h"
#include "util/error.h"

using mcpvm::Error;
using mcpvm::oci::is_valid_digest;
using mcpvm::oci::Reference;

namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Case {
  const char* in;
  const char* normalized;
};

TEST(OciReference, NormalizesLikeDocker) {
  const Case cases[] = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/user/app:v1", "docker.io/user/app:v1"},
      {"user/app", "docker.io/user/app:latest"},
      {"user/app/sub:tag", "docker.io/user/app/sub:tag"},
      {"localhost/app", "localhost/app:latest"},
      {"localhost:5000/app", "localhost:5000/app:latest"},
      {"127.0.0.1:5000/x:1", "127.0.0.1:5000/x:1"},
      {"registry.example.com/a/b/c:tag_1.0-x", "registry.example.com/a/b/c:tag_1.0-x"},
      {"example.com:443/my-app.v2__x/y", "example.com:443/my-app.v2__x/y:latest"},
      {"[::1]:5000/app:1", "[::1]:5000/app:1"},
      {"localhost:5000", "docker.io/library/localhost:5000"},  // no slash: a name and a tag, as in docker
      {"a--b/c", "docker.io/a--b/c:latest"},
      {"Example.com/app", "Example.com/app:latest"},  // an upper-case first component is a domain
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Reference::parse(c.in).str(), c.normalized);
  }
}

TEST(OciReference, SplitsParts) {
  Reference r = Reference::parse("127.0.0.1:5000/team/app:2");
  EXPECT_EQ(r.domain, "127.0.0.1:5000");
  EXPECT_EQ(r.repository, "team/app");
  EXPECT_EQ(r.tag, "2");
  EXPECT_EQ(r.digest, "");
  EXPECT_EQ(r.manifest_reference(), "2");
  EXPECT_EQ(r.api_host(), "127.0.0.1:5000");
  EXPECT_EQ(Reference::parse("busybox").api_host(), "registry-1.docker.io");
}

TEST(OciReference, Digests) {
  Reference d = Reference::parse("busybox@sha256:" + kHex);
  EXPECT_EQ(d.tag, "");  // docker adds no default tag when a digest is given
  EXPECT_EQ(d.digest, "sha256:" + kHex);
  EXPECT_EQ(d.manifest_reference(), "sha256:" + kHex);
  EXPECT_EQ(d.str(), "docker.io/library/busybox@sha256:" + kHex);
  EXPECT_EQ(d.store_key(), "docker.io/library/busybox@sha256:" + kHex);

  Reference both = Reference::parse("host:5000/app:1@sha256:" + kHex);
  EXPECT_EQ(both.tag, "1");
  EXPECT_EQ(both.manifest_reference(), "sha256:" + kHex);
  EXPECT_EQ(both.str(), "host:5000/app:1@sha256:" + kHex);
  EXPECT_EQ(both.store_key(), "host:5000/app:1");
}

TEST(OciReference, RejectsMalformed) {
  const char* bad[] = {
      "",
      "UPPER",
      "user/App",
      "busybox:",
      "busybox:-tag",
      "busybox:.tag",
      "busybox@sha256:abc",
      "busybox@md5:0123",
      "busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
      "/busybox",
      "busybox/",
      "a//b",
      "host:5000/",
      "-bad/app",
      "app-/x",
      "a..b/c:1",  // ".." is not a separator inside a path component
      "host:port/app",
      "host:123456/app",
      "exa_mple.com/app",
      "[::1/app",
      "a b",
      "app:tag:tag",
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  };
  for (const char* b : bad) {
    SCOPED_TRACE(b);
    EXPECT_THROW(Reference::parse(b), Error);
  }
  std::string long_tag(129, 'a');
  EXPECT_THROW(Reference::parse("app:" + long_tag), Error);
  EXPECT_NO_THROW(Reference::parse("app:" + std::string(128, 'a')));
  std::string long_name(250, 'a');
  EXPECT_THROW(Reference::parse("example.com/" + long_name), Error);
}

TEST(OciReference, MessageNamesInputAndReason) {
  try {
    Reference::parse("user/App");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "invalid reference \"user/App\": the repository name must be lowercase");
  }
}

TEST(OciReference, DigestValidation) {
  EXPECT_TRUE(is_valid_digest("sha256:" + kHex));
  EXPECT_FALSE(is_valid_digest("sha256:" + kHex.substr(1)));
  EXPECT_FALSE(is_valid_digest("sha512:" + kHex));
  EXPECT_FALSE(is_valid_digest("sha256:" + kHex.substr(1) + "G"));
  EXPECT_FALSE(is_valid_digest(kHex));
}

}  // namespace
