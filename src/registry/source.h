// Where a registry lives and how its documents are fetched. Three kinds:
//   file  a registry document on this host (any format registry/catalog.h reads)
//   url   the same served over http(s) (a URL whose path ends in ".json")
//   api   an MCP Registry API base URL (any other http(s) URL): GET
//   BASE/v0.1/servers?search=..&version=latest
//         (paged by cursor), GET BASE/v0.1/servers/{name}/versions/latest
// Fetches are bounded: 16 MiB per document, 20 pages of 100 per listing, a 10 s connect and 60 s total
// timeout, redirects only to http(s) and never from https down to http. Not thread-safe per call; no shared
// state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "registry/catalog.h"

namespace mcpvm::registry {

enum class SourceKind { file, url, api };
std::string_view to_string(SourceKind kind);
SourceKind parse_source_kind(std::string_view text);  // "file" | "url" | "api"; throws otherwise

struct RegistrySource {
  SourceKind kind = SourceKind::file;
  std::string location;  // an absolute path (file), or the URL as given without a trailing '/'
  bool operator==(const RegistrySource&) const = default;
};

// What the user typed to `registry add`: an http(s) URL (api unless its path ends in ".json"), else a
// path, made absolute against cwd. Checks only the spelling; nothing is fetched.
RegistrySource parse_source(std::string_view text, const std::filesystem::path& cwd);

// GET url, at most max_bytes of body. Throws Error("GET URL: HTTP 404"), ("GET URL: larger than N bytes"),
// ("GET URL: <curl's reason>").
std::string http_get(const std::string& url, size_t max_bytes = kMaxRegistryBytes);

// The runnable entries of a source. For an api source, `words` narrow the listing on the server (its
// ?search= matches names); file and url sources return everything. Entries' `source` is set.
// max_pages bounds an api listing (`registry add` checks a source with one page).
Catalog fetch_catalog(const RegistrySource& source, const std::vector<std::string>& words = {},
                      int max_pages = 20);

// The entry NAME in a source, or nullptr; an api source asks for NAME's latest version directly.
// The catalog keeps the storage; find_skipped on it explains a NAME that exists but cannot run.
Catalog fetch_for_name(const RegistrySource& source, std::string_view name);

// "%2F" for '/', and so on: a name as one URL path segment.
std::string escape_path_segment(std::string_view text);

}  // namespace mcpvm::registry
