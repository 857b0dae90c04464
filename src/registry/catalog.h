// A Catalog: the runnable entries of one registry document, and the entries it had to skip with the
// reason (one malformed or non-image entry never hides the others). parse_registry_document recognises
// every format mcpvm reads, by shape:
//
//   {"servers": {"NAME": {...}, ...}}                     ToolHive's legacy registry.json
//   {"servers": [{"server": {...}, "_meta": {...}}, ...]} MCP Registry API, GET /v0.1/servers
//   {"servers": [{server.json}, ...]} or {"data": {"servers": [...]}}   a list of server.json (ToolHive's
//                                                          upstream-format registry file)
//   {"server": {...}, "_meta": {...}}                     MCP Registry API, one version of one server
//   {server.json} / [{server.json}, ...]                   the MCP registry's server.json (schema 2025-12-11)
//
// Pure functions of the bytes; thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "registry/entry.h"

namespace mcpvm::registry {

// Larger documents are refused before parsing (ToolHive's whole registry is ~1 MiB).
inline constexpr size_t kMaxRegistryBytes = size_t(16) << 20;

struct SkippedEntry {
  std::string name;    // as found ("servers[3]" when it had no usable name)
  std::string reason;  // one line: "no OCI image (npm package only): mcpvm runs images"
};

struct Catalog {
  std::vector<RegistryEntry> entries;
  std::vector<SkippedEntry> skipped;
  std::string next_cursor;  // API lists: the next page's cursor, empty on the last one

  // An entry by its full name, else by its short name when exactly one entry has it. nullptr when none;
  // throws Error listing the candidates when the short name is ambiguous.
  const RegistryEntry* find(std::string_view name) const;
  // The skip reason of NAME (full or short), or nullptr.
  const SkippedEntry* find_skipped(std::string_view name) const;

  // Appends other's entries, skipping (with a reason) names this catalog already has.
  void merge(Catalog other);
};

// Throws Error for a document that is too large, not JSON, nested too deeply or of no known shape;
// `origin` (a file name or URL) starts every message.
Catalog parse_registry_document(std::string_view text, const std::string& origin);

// Adds an entry unless its name is taken (then it is skipped as a duplicate).
void add_entry(Catalog& catalog, RegistryEntry entry);

}  // namespace mcpvm::registry
