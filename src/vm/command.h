// docker-run semantics for what runs in the VM, independent of the CLI: the command from the image's
// Entrypoint/Cmd and the user's --entrypoint/ARGS, and the runtime environment from -e and --env-file.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::vm {

// ARGS replace Cmd; --entrypoint replaces Entrypoint and drops the image's Cmd (as docker does; an empty
// --entrypoint "" clears it). Throws Error when nothing is left to run.
std::vector<std::string> resolve_command(const std::vector<std::string>& image_entrypoint,
                                         const std::vector<std::string>& image_cmd,
                                         const std::optional<std::string>& entrypoint_override,
                                         const std::vector<std::string>& args);

// Looks up a host variable (getenv by default); used for "-e NAME" without a value.
using HostEnv = std::function<std::optional<std::string>(const std::string&)>;
HostEnv process_env();

// An --env-file's entries: "K=V" lines; blank lines and lines starting with '#' are skipped; a bare "K"
// takes the host's value (skipped when unset). Throws Error("line N: ...") for an entry with no name.
std::vector<std::string> parse_env_file(std::string_view text, const HostEnv& host);

// The runtime layer: env files first, then each -e in order (later ones win when the layers are merged).
std::vector<std::string> runtime_env(const std::vector<std::string>& env_files_text,
                                     const std::vector<std::string>& dash_e, const HostEnv& host);

}  // namespace mcpvm::vm
