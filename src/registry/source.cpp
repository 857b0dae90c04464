#include "registry/source.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::registry {
namespace {

constexpr int kMaxPages = 20;

bool is_http_url(std::string_view text) {
  return text.starts_with("http://") || text.starts_with("https://");
}

struct Body {
  std::string data;
  size_t max_bytes;
  bool too_large = false;
};

size_t on_body(char* ptr, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  size_t n = size * count;
  if (body->data.size() + n > body->max_bytes) {
    body->too_large = true;
    return 0;  // aborts the transfer
  }
  body->data.append(ptr, n);
  return n;
}

std::string query_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += char(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

void set_source(Catalog& catalog, const RegistrySource& source) {
  for (auto& e : catalog.entries) e.source = source.location;
}

std::string api_list_url(const RegistrySource& source, const std::vector<std::string>& words,
                         const std::string& cursor) {
  std::string url = source.location + "/v0.1/servers?version=latest&limit=100";
  // The API's search matches a substring of the name: ask for the longest word, filter on all of them.
  std::string longest;
  for (const auto& w : words)
    if (w.size() > longest.size()) longest = w;
  if (!longest.empty()) url += "&search=" + query_escape(longest);
  if (!cursor.empty()) url += "&cursor=" + query_escape(cursor);
  return url;
}

}  // namespace

std::string_view to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::file:
      return "file";
    case SourceKind::url:
      return "url";
    case SourceKind::api:
      return "api";
  }
  return "?";
}

SourceKind parse_source_kind(std::string_view text) {
  if (text == "file") return SourceKind::file;
  if (text == "url") return SourceKind::url;
  if (text == "api") return SourceKind::api;
  fail("registry kind {:?}: expected file, url or api", text);
}

RegistrySource parse_source(std::string_view text, const std::filesystem::path& cwd) {
  if (text.empty()) fail("an empty registry source: give a file, an http(s) URL or an MCP Registry API URL");
  if (text.find_first_of(std::string_view("\r\n\t\0", 4)) != std::string_view::npos)
    fail("registry source {:?}: control characters", text);
  if (is_http_url(text)) {
    std::string url(text);
    while (url.size() > 8 && url.back() == '/') url.pop_back();
    if (url.find_first_of(" \"<>\\^`{|}") != std::string::npos) fail("registry URL {:?}: not a URL", text);
    std::string path = url.substr(0, url.find_first_of("?#"));
    return {path.ends_with(".json") ? SourceKind::url : SourceKind::api, url};
  }
  if (text.find("://") != std::string_view::npos)
    fail("registry source {:?}: only http:// and https:// URLs (or a file path)", text);
  return {SourceKind::file, (cwd / std::filesystem::path(text)).lexically_normal().string()};
}

std::string http_get(const std::string& url, size_t max_bytes) {
  return with_context("GET " + url, [&] {
    CURL* curl = curl_easy_init();
    if (!curl) fail("curl_easy_init failed");
    Body body{{}, max_bytes};
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, url.starts_with("https://") ? "https" : "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mcpvm/0.1");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // what libcurl can decode; caps apply after it
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (body.too_large) fail("larger than {} bytes", max_bytes);
    if (rc != CURLE_OK) fail("{}", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (status >= 400) fail("HTTP {}", status);
    return std::move(body.data);
  });
}

std::string escape_path_segment(std::string_view text) {
  return query_escape(text);
}

Catalog fetch_catalog(const RegistrySource& source, const std::vector<std::string>& words, int max_pages) {
  Catalog catalog;
  switch (source.kind) {
    case SourceKind::file:
      catalog = parse_registry_document(
          with_context("registry " + source.location,
                       [&] { return read_file(source.location, kMaxRegistryBytes + 1); }),
          source.location);
      break;
    case SourceKind::url:
      catalog = parse_registry_document(http_get(source.location, kMaxRegistryBytes + 1), source.location);
      break;
    case SourceKind::api: {
      std::string cursor;
      for (int page = 0; page < std::min(max_pages, kMaxPages); ++page) {
        std::string url = api_list_url(source, words, cursor);
        Catalog part = parse_registry_document(http_get(url), url);
        cursor = part.next_cursor;
        catalog.merge(std::move(part));
        if (cursor.empty()) break;
      }
      break;
    }
  }
  set_source(catalog, source);
  return catalog;
}

Catalog fetch_for_name(const RegistrySource& source, std::string_view name) {
  check_entry_name(name);
  if (source.kind != SourceKind::api || name.find('/') == std::string_view::npos)
    return fetch_catalog(source, {std::string(name)});
  std::string url = source.location + "/v0.1/servers/" + escape_path_segment(name) + "/versions/latest";
  std::string body;
  try {
    body = http_get(url);
  } catch (const Error& e) {
    if (std::string_view(e.what()).ends_with(": HTTP 404")) return {};
    throw;
  }
  Catalog catalog = parse_registry_document(body, url);
  set_source(catalog, source);
  return catalog;
}

}  // namespace mcpvm::registry
