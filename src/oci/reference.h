// Image references with docker's normalisation: "busybox" is "docker.io/library/busybox:latest",
// "host:port/repo:tag", "repo@sha256:<hex>", "repo:tag@sha256:<hex>".
#pragma once

#include <string>
#include <string_view>

namespace mcpvm::oci {

struct Reference {
  std::string domain;      // "docker.io", "127.0.0.1:5000", "localhost", "[::1]:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty when only a digest was given
  std::string digest;      // "sha256:<hex>" or empty

  // Throws Error("invalid reference \"X\": <why>").
  static Reference parse(std::string_view text);

  // "docker.io/library/busybox:latest", "host/repo@sha256:..", "host/repo:tag@sha256:.."
  std::string str() const;
  // "docker.io/library/busybox"
  std::string name() const { return domain + "/" + repository; }
  // What the registry API is asked for: the digest when there is one, else the tag.
  std::string manifest_reference() const { return digest.empty() ? tag : digest; }
  // The host the registry API lives on ("registry-1.docker.io" for docker.io).
  std::string api_host() const;
  // The reference a store records: name:tag, or name@digest when no tag was given.
  std::string store_key() const;

  bool operator==(const Reference&) const = default;
};

// True for "sha256:" followed by 64 lower-case hex digits.
bool is_valid_digest(std::string_view digest);

}  // namespace mcpvm::oci
