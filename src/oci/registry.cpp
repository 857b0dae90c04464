#include "oci/registry.h"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include <exception>
#include <thread>

#include "oci/manifest.h"
#include "util/backoff.h"
#include "util/error.h"
#include "util/json_depth.h"
#include "util/log.h"
#include "util/sha256.h"

namespace mcpvm::oci {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One curl handle per thread: connections (and TLS sessions) are reused across requests of that thread.
struct EasyHandle {
  CURL* curl = curl_easy_init();
  ~EasyHandle() { curl_easy_cleanup(curl); }
};

CURL* thread_handle() {
  thread_local EasyHandle handle;
  if (!handle.curl) fail("libcurl could not create a handle");
  curl_easy_reset(handle.curl);
  return handle.curl;
}

struct CurlHeaders {
  curl_slist* list = nullptr;
  ~CurlHeaders() { curl_slist_free_all(list); }
  void add(const std::string& h) { list = curl_slist_append(list, h.c_str()); }
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(name[i])))
      return false;
  return true;
}

std::string escape(CURL* curl, const std::string& s) {
  char* e = curl_easy_escape(curl, s.c_str(), int(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// Bodies held in memory besides manifests (see manifest.h): error bodies and /v2/ only feed a message, a
// token server's answer is one JSON object with a token of a few KiB; both caps are far above real ones.
constexpr size_t kMaxMessageBodyBytes = 64 * 1024;
constexpr size_t kMaxTokenResponseBytes = size_t(1) << 20;

bool transient(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

}  // namespace

struct Registry::Response {
  long status = 0;
  CURLcode code = CURLE_OK;
  std::string curl_error;
  std::string body;  // when no sink, or for error statuses (capped)
  std::string content_type, www_authenticate, docker_digest;
  bool too_large = false;
  bool delivered = false;  // sink got bytes
};

Registry::Registry(Reference ref, RegistryOptions options)
    : ref_(std::move(ref)), options_(std::move(options)) {
  global_init();
}

Registry::~Registry() = default;

std::string Registry::base_url() const {
  return fmt::format("{}://{}/v2/", options_.tls_verify ? "https" : "http", ref_.api_host());
}

std::string Registry::authorization() const {
  std::lock_guard lock(auth_mutex_);
  return auth_header_;
}

Registry::Response Registry::request(const std::string& url, const std::string& accept,
                                     const std::function<void(std::string_view)>* sink, size_t max_body) {
  CURL* curl = thread_handle();
  Response r;
  std::exception_ptr sink_error;
  struct Ctx {
    CURL* curl;
    Response* r;
    const std::function<void(std::string_view)>* sink;
    size_t max_body;
    std::exception_ptr* error;
  } ctx{curl, &r, sink, max_body, &sink_error};

  CurlHeaders headers;
  if (!accept.empty()) headers.add("Accept: " + accept);
  std::string auth = authorization();
  if (!auth.empty()) headers.add(auth);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "mcpvm/0.1");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, long(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, long(options_.stall_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, options_.tls_verify ? "https" : "http,https");
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (!options_.tls_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (options_.cancel) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, options_.cancel);
    curl_easy_setopt(
        curl, CURLOPT_XFERINFOFUNCTION, +[](void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
          return static_cast<const std::atomic<bool>*>(p)->load() ? 1 : 0;
        });
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);

  auto on_header = +[](char* data, size_t, size_t n, void* p) -> size_t {
    auto* c = static_cast<Ctx*>(p);
    std::string_view line(data, n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect or 100-continue)
      c->r->content_type.clear();
      c->r->www_authenticate.clear();
      c->r->docker_digest.clear();
    } else if (iequals_prefix(line, "content-type:")) {
      c->r->content_type = trim(line.substr(13));
    } else if (iequals_prefix(line, "www-authenticate:")) {
      c->r->www_authenticate = trim(line.substr(17));
    } else if (iequals_prefix(line, "docker-content-digest:")) {
      c->r->docker_digest = trim(line.substr(22));
    }
    return n;
  };
  auto on_body = +[](char* data, size_t, size_t n, void* p) -> size_t {
    auto* c = static_cast<Ctx*>(p);
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    bool ok = status >= 200 && status < 300;
    if (ok && c->sink) {
      try {
        (*c->sink)(std::string_view(data, n));
        c->r->delivered = true;
      } catch (...) {
        *c->error = std::current_exception();
        return 0;
      }
      return n;
    }
    size_t cap = ok ? c->max_body : kMaxMessageBodyBytes;
    if (c->r->body.size() + n > cap) {
      if (ok) {
        c->r->too_large = true;
        return 0;
      }
      return n;  // error bodies are only for messages: keep the start
    }
    c->r->body.append(data, n);
    return n;
  };
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);

  r.code = curl_easy_perform(curl);
  if (sink_error) std::rethrow_exception(sink_error);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  r.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(r.code);
  return r;
}

Registry::Response Registry::request_with_auth(const std::string& url, const std::string& accept,
                                               const std::function<void(std::string_view)>* sink,
                                               size_t max_body, const std::function<void()>* on_restart) {
  bool reauthenticated = false;
  Backoff backoff(std::chrono::milliseconds(250), std::chrono::seconds(4));
  for (int attempt = 1;; ++attempt) {
    std::string auth_before = authorization();
    Response r = request(url, accept, sink, max_body);
    if (r.code == CURLE_ABORTED_BY_CALLBACK || (options_.cancel && *options_.cancel)) fail("interrupted");
    bool retry = (r.code != CURLE_OK && transient(r.code)) || (r.code == CURLE_OK && r.status >= 500);
    if (r.too_large) fail("the response is larger than {} bytes", max_body);
    if (r.code == CURLE_OK && r.status == 401 && !reauthenticated && !r.www_authenticate.empty()) {
      std::lock_guard lock(auth_mutex_);
      if (auth_header_ == auth_before) authenticate(r.www_authenticate);
      reauthenticated = true;
      --attempt;
      retry = true;
    } else if (retry && attempt >= options_.max_attempts) {
      if (r.code != CURLE_OK) {
        if (r.code == CURLE_COULDNT_CONNECT || r.code == CURLE_COULDNT_RESOLVE_HOST)
          fail("registry {} is unreachable: {}", ref_.api_host(), r.curl_error);
        fail("{}: {} (after {} attempts)", url, r.curl_error, attempt);
      }
      fail("the registry answered {} for {} (after {} attempts)", r.status, url, attempt);
    } else if (retry) {
      auto delay = backoff.next();
      log::info("retrying {} ({}) in {} ms", url,
                r.code != CURLE_OK ? r.curl_error : std::to_string(r.status), delay.count());
      std::this_thread::sleep_for(delay);
    }
    if (!retry) {
      if (r.code == CURLE_COULDNT_RESOLVE_HOST)
        fail("registry {} is unreachable: {}", ref_.api_host(), r.curl_error);
      if (r.code != CURLE_OK) fail("{}: {}", url, r.curl_error);
      return r;
    }
    if (r.delivered && on_restart) (*on_restart)();
  }
}

void Registry::authenticate(const std::string& header) {
  // Called with auth_mutex_ held.
  std::vector<Challenge> challenges =
      with_context("the registry's authentication challenge", [&] { return parse_challenges(header); });
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const Challenge& c : challenges) {
    if (c.scheme == "bearer" && !bearer) bearer = &c;
    if (c.scheme == "basic" && !basic) basic = &c;
  }
  const auto& creds = options_.credentials;
  if (bearer) {
    auto realm = bearer->params.find("realm");
    if (realm == bearer->params.end() || realm->second.empty())
      fail("the registry's bearer challenge has no realm");
    const bool registry_is_https = options_.tls_verify;
    check_token_realm(realm->second, registry_is_https);
    CURL* curl = thread_handle();
    std::string url = realm->second;
    url += url.find('?') == std::string::npos ? '?' : '&';
    if (auto service = bearer->params.find("service"); service != bearer->params.end())
      url += "service=" + escape(curl, service->second) + "&";
    url += "scope=" + escape(curl, fmt::format("repository:{}:pull", ref_.repository));
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, long(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, registry_is_https ? "https" : "http,https");
    if (!options_.tls_verify) {
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    std::string user, pass;
    if (creds) {
      user = creds->username;
      pass = creds->password;
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(curl, CURLOPT_USERNAME, user.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, pass.c_str());
    }
    std::string body;
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* d, size_t, size_t n, void* p) -> size_t {
          auto* b = static_cast<std::string*>(p);
          if (b->size() + n > kMaxTokenResponseBytes) return 0;
          b->append(d, n);
          return n;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK)
      fail("the token server {} is unreachable: {}", realm->second, curl_easy_strerror(code));
    if (status == 401 || status == 403)
      fail("authentication failed ({}): the token server refused {}", status,
           creds ? "the credentials" : "anonymous access: give --creds USER:PASSWORD or docker login");
    if (status != 200) fail("the token server {} answered {}", realm->second, status);
    auto doc = parse_untrusted_json(body);
    std::string token;
    if (doc.is_object()) {
      if (doc.contains("token") && doc["token"].is_string())
        token = doc["token"];
      else if (doc.contains("access_token") && doc["access_token"].is_string())
        token = doc["access_token"];
    }
    if (token.empty()) fail("the token server {} sent no token", realm->second);
    auth_header_ = "Authorization: Bearer " + token;
    return;
  }
  if (basic) {
    if (!creds)
      fail("authentication required (401): give --creds USER:PASSWORD or add {} to ~/.docker/config.json",
           ref_.domain);
    std::string encoded = base64_encode(creds->username + ":" + creds->password);
    if (auth_header_ == "Authorization: Basic " + encoded)
      fail("authentication failed (401): the registry refused the credentials for {}", ref_.domain);
    auth_header_ = "Authorization: Basic " + encoded;
    return;
  }
  fail("the registry asks for an unsupported authentication scheme \"{}\"", challenges.front().scheme);
}

namespace {
[[noreturn]] void fail_status(long status, std::string_view what, const std::string& body) {
  if (status == 401) fail("authentication failed (401) for {}", what);
  if (status == 403) fail("access denied (403) to {}", what);
  if (status == 404) fail("{} not found (404)", what);
  std::string detail;
  auto doc = parse_untrusted_json(body);
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array() && !doc["errors"].empty() &&
      doc["errors"][0].is_object())
    detail = ": " + doc["errors"][0].value("message", std::string());
  fail("the registry answered {} for {}{}", status, what, detail);
}
}  // namespace

void Registry::ping() {
  Response r = request_with_auth(base_url(), "", nullptr, kMaxMessageBodyBytes, nullptr);
  if (r.status != 200) fail_status(r.status, fmt::format("registry {}", ref_.api_host()), r.body);
}

FetchedManifest Registry::get_manifest(std::string_view reference_or_digest) {
  std::string url = fmt::format("{}{}/manifests/{}", base_url(), ref_.repository, reference_or_digest);
  Response r = with_context(fmt::format("manifest {}", reference_or_digest), [&] {
    return request_with_auth(url, std::string(media::accept_manifests), nullptr, kMaxManifestBytes, nullptr);
  });
  if (r.status != 200)
    fail_status(r.status, fmt::format("manifest {} of {}", reference_or_digest, ref_.name()), r.body);
  std::string digest = "sha256:" + Sha256::hex(r.body);
  FetchedManifest m{r.content_type, std::move(r.body), std::move(digest)};
  if (!r.docker_digest.empty() && is_valid_digest(r.docker_digest) &&
      reference_or_digest.substr(0, 7) != "sha256:" && r.docker_digest != m.digest)
    fail("manifest {}: does not match the digest the registry sent ({})", reference_or_digest,
         r.docker_digest);
  return m;
}

void Registry::get_blob(std::string_view digest, const std::function<void(std::string_view)>& sink,
                        const std::function<void()>& on_restart) {
  std::string url = fmt::format("{}{}/blobs/{}", base_url(), ref_.repository, digest);
  Response r = request_with_auth(url, "", &sink, kMaxMessageBodyBytes, &on_restart);
  if (r.status != 200) fail_status(r.status, fmt::format("blob {}", digest), r.body);
}

}  // namespace mcpvm::oci
