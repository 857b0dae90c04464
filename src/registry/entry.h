// RegistryEntry: one runnable MCP server as a registry describes it, whatever the document's format
// (registry/server_json.h for the MCP registry's server.json and its API, registry/toolhive_registry.h for
// ToolHive's legacy registry.json). `run NAME` turns it into run flags (cli/registry_run.h); `search` and
// `registry info` show it. Plain data; the parsers validate every field, so an entry is always usable.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::registry {

// An environment variable the server reads. A secret one is never written into a registry-derived -e:
// `run` takes it from --secret or the secret store (cli/registry_run.h).
struct EnvVarSpec {
  std::string name;
  std::string description;
  bool required = false;
  bool secret = false;
  std::optional<std::string> default_value;
};

struct RegistryEntry {
  std::string name;  // "fetch" (ToolHive) or "io.github.owner/fetch" (MCP registry); see check_entry_name
  std::string title;
  std::string description;
  std::string version;
  std::string image;              // the OCI reference as published (checked by oci::Reference::parse)
  std::string transport;          // "stdio", "sse" or "streamable-http"
  uint16_t target_port = 0;       // the HTTP server's port in the guest; 0: stdio, or the run's default
  std::vector<std::string> args;  // replace the image's Cmd unless the user gives `-- ARGS`
  std::vector<EnvVarSpec> env;
  // ToolHive's permission profile, already validated and in net/policy.h's shape; nullopt: none published
  // (run keeps its own default).
  std::optional<nlohmann::json> permissions;
  std::vector<std::string> tools;
  std::vector<std::string> tags;
  std::string repository_url;
  std::string status;  // "Active", "Deprecated", ... as published; informative
  std::string source;  // the registry it came from (set by the loader, registry/source.h)

  // The part after the last '/': "fetch" for "io.github.owner/fetch".
  std::string short_name() const;
};

// Names: 1-200 characters of [A-Za-z0-9._-], at most one '/' that is neither first nor last, no part
// that is "." or "..", no part starting with '.' or '-'. So a name is safe in a URL path segment (once
// escaped), in a file name part and in a message. Throws Error("server name \"X\": why").
void check_entry_name(std::string_view name);

// True when every word (case-insensitively) occurs in the name, title, description, tags or tools.
bool matches_words(const RegistryEntry& entry, const std::vector<std::string>& words);

// A registry document's host pattern, in ToolHive's syntax, as net/policy.h spells it: ".example.com"
// (ToolHive: the domain and every name below it) becomes "example.com" and "*.example.com".
std::vector<std::string> host_patterns(std::string_view toolhive_host);

// ToolHive's "permissions" object as published, checked and converted for net::parse_permission_profile:
// "name" is dropped (a label), leading-dot hosts are expanded (host_patterns); every other unknown or
// mistyped field is an Error, since a restriction we cannot read is one we could not enforce.
nlohmann::json normalize_permissions(const nlohmann::json& published);

// What `registry info --json` and `search --json` print.
nlohmann::json to_json(const RegistryEntry& entry);

// "stdio" | "sse" | "streamable-http"; also ToolHive's and the MCP registry's spellings of them
// ("streamable_http", "http"). Throws Error naming the value otherwise.
std::string normalize_transport(std::string_view published);

}  // namespace mcpvm::registry
