// `mcpvm search [WORDS...]`: the servers of the configured registries whose name, title, description, tags
// or tools contain every word (cli/registry_lookup.h).
#include <iostream>

#include "cli/command.h"
#include "cli/registry_lookup.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

struct SearchOptions {
  std::vector<std::string> words;
  bool json = false;
};

std::string clip(const std::string& text, size_t width) {
  std::string line = text.substr(0, text.find('\n'));
  return line.size() <= width ? line : line.substr(0, width - 3) + "...";
}

int search(const SearchOptions& o) {
  if (configured_registries().registries.empty())
    fail("no registry configured: mcpvm registry add FILE|URL first (see mcpvm registry --help)");
  registry::Catalog found = search_registries(o.words);
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : found.entries) list.push_back(registry::to_json(e));
    print_json(list);
    return 0;
  }
  if (found.entries.empty()) {
    std::cerr << "no server matches" << (o.words.empty() ? "" : " every word") << "\n";
    return 1;
  }
  size_t width = 4;
  for (const auto& e : found.entries) width = std::max(width, e.name.size());
  std::cout << fmt::format("{:<{}}  {:<15}  {}\n", "NAME", width, "TRANSPORT", "DESCRIPTION");
  for (const auto& e : found.entries)
    std::cout << fmt::format("{:<{}}  {:<15}  {}\n", e.name, width, e.transport, clip(e.description, 70));
  std::cerr
      << "details: mcpvm registry info NAME; run: mcpvm run NAME (the part after the last '/' is enough "
         "when it is unique)\n";
  return 0;
}

const Command kSearch{
    "search", "Find MCP servers in the configured registries", 54, [](CLI::App& app) {
      auto o = std::make_shared<SearchOptions>();
      app.add_option("words", o->words,
                     "Words that must all occur (name, description, tags, tools); none: list all");
      app.add_flag("--json", o->json, "Print the matching entries as JSON");
      app.footer("Example: mcpvm search fetch    (registries: mcpvm registry add FILE|URL)");
      return [o] { return search(*o); };
    }};

}  // namespace
}  // namespace mcpvm::cli
