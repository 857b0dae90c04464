#include "vm/command.h"

#include <cstdlib>

#include "util/error.h"

namespace mcpvm::vm {

namespace {

std::optional<std::string> expand_entry(std::string_view entry, const HostEnv& host) {
  auto eq = entry.find('=');
  if (eq == 0 || entry.empty()) fail("bad environment entry \"{}\": expected NAME=VALUE or NAME", entry);
  if (eq != std::string_view::npos) return std::string(entry);
  auto value = host(std::string(entry));
  if (!value) return std::nullopt;
  return std::string(entry) + "=" + *value;
}

}  // namespace

std::vector<std::string> resolve_command(const std::vector<std::string>& image_entrypoint,
                                         const std::vector<std::string>& image_cmd,
                                         const std::optional<std::string>& entrypoint_override,
                                         const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (entrypoint_override) {
    if (!entrypoint_override->empty()) argv.push_back(*entrypoint_override);
  } else {
    argv = image_entrypoint;
  }
  if (!args.empty())
    argv.insert(argv.end(), args.begin(), args.end());
  else if (!entrypoint_override)
    argv.insert(argv.end(), image_cmd.begin(), image_cmd.end());
  if (argv.empty() || argv[0].empty())
    fail("no command to run: the image has no Entrypoint or Cmd; give one after -- or with --entrypoint");
  return argv;
}

HostEnv process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
}

std::vector<std::string> parse_env_file(std::string_view text, const HostEnv& host) {
  std::vector<std::string> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    line.remove_prefix(first);
    auto entry = with_context(fmt::format("line {}", line_no), [&] { return expand_entry(line, host); });
    if (entry) out.push_back(*entry);
  }
  return out;
}

std::vector<std::string> runtime_env(const std::vector<std::string>& env_files_text,
                                     const std::vector<std::string>& dash_e, const HostEnv& host) {
  std::vector<std::string> out;
  for (const auto& text : env_files_text) {
    auto entries = parse_env_file(text, host);
    out.insert(out.end(), entries.begin(), entries.end());
  }
  for (const auto& e : dash_e)
    if (auto entry = expand_entry(e, host)) out.push_back(*entry);
  return out;
}

}  // namespace mcpvm::vm
