// A client for one repository of a Docker Registry HTTP API v2 (libcurl): ping, authentication (basic and
// bearer tokens, anonymous or with credentials), manifests and blobs. Thread-safe: blob downloads run in
// parallel, each on its own curl handle; the auth state is shared.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "oci/auth.h"
#include "oci/reference.h"

namespace mcpvm::oci {

struct RegistryOptions {
  bool tls_verify = true;  // false: plain http (for 127.0.0.1 test registries) and no certificate checks
  std::optional<Credentials> credentials;
  int max_attempts = 4;  // for 5xx, timeouts and dropped connections; backoff 250 ms, 500 ms, 1 s
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds stall_timeout{30};  // a transfer slower than 1 byte/s for this long is retried
  // When set and true, transfers stop within about a second and fail with "interrupted" (Ctrl-C).
  const std::atomic<bool>* cancel = nullptr;
};

struct FetchedManifest {
  std::string content_type;
  std::string body;
  std::string digest;  // "sha256:<hex>" of body
};

class Registry {
 public:
  Registry(Reference ref, RegistryOptions options);
  ~Registry();

  // GET /v2/ and authenticate as the registry asks. Throws Error("registry H is unreachable: ..."),
  // ("authentication failed (401) ...") etc.
  void ping();
  // GET a manifest by tag or digest (refuses bodies over kMaxManifestBytes).
  FetchedManifest get_manifest(std::string_view reference_or_digest);
  // Streams a blob to sink in chunks; on_restart is called before a retry starts over (the caller must
  // discard what it got). Throws Error on HTTP errors after retries.
  void get_blob(std::string_view digest, const std::function<void(std::string_view)>& sink,
                const std::function<void()>& on_restart);

  const Reference& reference() const { return ref_; }

 private:
  struct Response;
  Response request(const std::string& url, const std::string& accept,
                   const std::function<void(std::string_view)>* sink, size_t max_body);
  Response request_with_auth(const std::string& url, const std::string& accept,
                             const std::function<void(std::string_view)>* sink, size_t max_body,
                             const std::function<void()>* on_restart);
  void authenticate(const std::string& www_authenticate);
  std::string base_url() const;
  std::string authorization() const;

  Reference ref_;
  RegistryOptions options_;
  mutable std::mutex auth_mutex_;
  std::string auth_header_;  // "Authorization: ..." or empty
};

}  // namespace mcpvm::oci
