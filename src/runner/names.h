// VM names: docker's rules ([a-zA-Z0-9][a-zA-Z0-9_.-]*, here also at most 63 characters so a name is
// always a safe single path component and a valid hostname-ish label), and generated names
// ("brave_turing") when the user gives none.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace mcpvm::runner {

bool is_valid_vm_name(std::string_view name);

// Throws Error with the rule when the name is invalid.
void check_vm_name(std::string_view name);

// A random "adjective_noun" name for which taken(name) is false (a numeric suffix is added after
// repeated collisions). The caller still has to claim it atomically (see VmDir::create).
std::string generate_vm_name(const std::function<bool(const std::string&)>& taken);

}  // namespace mcpvm::runner
