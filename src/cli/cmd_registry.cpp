// `mcpvm registry add|ls|rm SOURCE` and `mcpvm registry info NAME`: the registries `run NAME` and `search`
// read (registry/config.h), and one entry in full.
#include <fmt/ranges.h>

#include <iostream>

#include "cli/command.h"
#include "cli/registry_lookup.h"
#include "registry/config.h"
#include "registry/source.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

struct RegistryOptions {
  std::string source;
  std::string kind;  // empty: from the spelling (registry/source.h)
  std::string name;
  bool json = false;
};

int registry_add(const RegistryOptions& o) {
  registry::RegistrySource source = registry::parse_source(o.source, std::filesystem::current_path());
  if (!o.kind.empty()) source.kind = registry::parse_source_kind(o.kind);
  if (source.kind != registry::SourceKind::file && !o.source.starts_with("http"))
    fail("--kind {}: {} is not an http(s) URL", o.kind, o.source);
  // Fetched once now, so a typo or a document we cannot read fails here and not at the next run.
  registry::Catalog catalog = registry::fetch_catalog(source, {}, 1);
  auto home = ensure_mcpvm_home();
  FileLock lock(home / "registries.lock");
  registry::RegistryConfig config = registry::load_registry_config(home);
  if (!registry::add_registry(config, source)) {
    std::cerr << source.location << " is already configured\n";
    return 0;
  }
  registry::save_registry_config(home, config);
  std::cerr << fmt::format("added {} registry {}: {} runnable server{}{}{}\n", to_string(source.kind),
                           source.location, catalog.entries.size(), catalog.entries.size() == 1 ? "" : "s",
                           catalog.skipped.empty() ? "" : fmt::format(", {} skipped", catalog.skipped.size()),
                           source.kind == registry::SourceKind::api ? " on the first page" : "");
  return 0;
}

int registry_ls(const RegistryOptions& o) {
  auto config = configured_registries();
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : config.registries)
      list.push_back({{"kind", to_string(r.kind)}, {"location", r.location}});
    print_json(list);
    return 0;
  }
  if (config.registries.empty()) {
    std::cerr << "no registry configured: mcpvm registry add FILE|URL (see mcpvm registry --help)\n";
    return 0;
  }
  std::cout << fmt::format("{:<3} {:<5} {}\n", "#", "KIND", "LOCATION");
  for (size_t i = 0; i < config.registries.size(); ++i)
    std::cout << fmt::format("{:<3} {:<5} {}\n", i + 1, to_string(config.registries[i].kind),
                             config.registries[i].location);
  return 0;
}

int registry_rm(const RegistryOptions& o) {
  auto home = ensure_mcpvm_home();
  FileLock lock(home / "registries.lock");
  registry::RegistryConfig config = registry::load_registry_config(home);
  std::string which = o.source;
  if (which.find("://") == std::string::npos && !which.empty() &&
      which.find_first_not_of("0123456789") != std::string::npos)
    which = registry::parse_source(which, std::filesystem::current_path()).location;
  registry::RegistrySource removed = registry::remove_registry(config, which);
  registry::save_registry_config(home, config);
  std::cerr << "removed registry " << removed.location << "\n";
  return 0;
}

void print_entry(const registry::RegistryEntry& e) {
  std::cout << e.name << (e.title.empty() ? "" : "  (" + e.title + ")") << "\n";
  if (!e.description.empty()) std::cout << "  " << e.description << "\n";
  std::cout << "  image:      " << e.image << "\n";
  std::cout << "  transport:  " << e.transport
            << (e.target_port ? fmt::format(" (port {} in the guest)", e.target_port) : "") << "\n";
  if (!e.args.empty()) std::cout << "  args:       " << fmt::format("{}", fmt::join(e.args, " ")) << "\n";
  for (const auto& v : e.env)
    std::cout << fmt::format("  env:        {}{}{}{}{}\n", v.name, v.required ? " (required)" : "",
                             v.secret ? " (secret: mcpvm secret set " + v.name + ")" : "",
                             v.default_value ? " default " + *v.default_value : "",
                             v.description.empty() ? "" : ": " + v.description);
  if (!e.permissions) {
    std::cout << "  network:    (no profile published: run's default, egress allowed)\n";
  } else {
    const auto& p = *e.permissions;
    std::cout << "  network:    " << p.value("network", nlohmann::json::object()).dump() << "\n";
    for (const char* kind : {"read", "write"})
      if (p.contains(kind) && !p[kind].empty())
        std::cout << fmt::format("  mounts {:<5} {} (host paths shared with the VM)\n",
                                 std::string(kind) + ":", p[kind].dump());
  }
  if (!e.tools.empty()) std::cout << "  tools:      " << fmt::format("{}", fmt::join(e.tools, ", ")) << "\n";
  if (!e.repository_url.empty()) std::cout << "  repository: " << e.repository_url << "\n";
  std::cout << "  registry:   " << e.source << "\n";
  std::cout << "run it with:  mcpvm run " << e.short_name() << "\n";
}

int registry_info(const RegistryOptions& o) {
  if (configured_registries().registries.empty())
    fail("no registry configured: mcpvm registry add FILE|URL first");
  auto entry = find_registry_entry(o.name);
  if (!entry) fail("{}: no configured registry has it (mcpvm search WORDS lists what they have)", o.name);
  if (o.json)
    print_json(registry::to_json(*entry));
  else
    print_entry(*entry);
  return 0;
}

const Command kRegistry{
    "registry", "Configure the registries that `run NAME` and `search` read (add, ls, rm, info)", 55,
    [](CLI::App& app) {
      auto o = std::make_shared<RegistryOptions>();
      app.require_subcommand(1);
      auto* add =
          app.add_subcommand("add", "Add a registry: a file, an http(s) URL of one, or an MCP Registry API");
      add->add_option("source", o->source,
                      "FILE, https://HOST/registry.json, or https://HOST (an MCP Registry API)")
          ->required();
      add->add_option("--kind", o->kind,
                      "file, url or api (default: a URL ending in .json is url, other URLs api)")
          ->check(CLI::IsMember({"file", "url", "api"}));
      auto* ls = app.add_subcommand("ls", "List the configured registries, in the order they are searched");
      ls->add_flag("--json", o->json, "Print JSON");
      auto* rm = app.add_subcommand("rm", "Remove a registry (its location, or its number in `registry ls`)");
      rm->add_option("source", o->source, "Location or number")->required();
      auto* info = app.add_subcommand("info", "Show one server's entry: image, transport, env, permissions");
      info->add_option("name", o->name, "Server name (full, or the part after the last '/')")->required();
      info->add_flag("--json", o->json, "Print JSON");
      app.footer(
          "Formats: the MCP registry's server.json (one, a list, or its API) and ToolHive's registry.json.\n"
          "Examples:\n"
          "  mcpvm registry add ./demo/registry.json\n"
          "  mcpvm registry add https://registry.modelcontextprotocol.io\n"
          "  mcpvm registry add URL-OF-TOOLHIVE'S-registry.json    (docs/registry.md)\n"
          "  mcpvm search fetch && mcpvm registry info fetch && mcpvm run fetch\n"
          "Registries are asked in the order they were added ($MCPVM_HOME/registries.json).");
      return [o, add, ls, rm, info]() -> int {
        if (add->parsed()) return registry_add(*o);
        if (ls->parsed()) return registry_ls(*o);
        if (rm->parsed()) return registry_rm(*o);
        if (info->parsed()) return registry_info(*o);
        return 2;
      };
    }};

}  // namespace
}  // namespace mcpvm::cli
