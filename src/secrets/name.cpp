#include "secrets/name.h"

#include <set>

#include "util/error.h"

namespace mcpvm::secrets {

namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

}  // namespace

void check_secret_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength;
  for (char c : name) ok = ok && name_char(c);
  if (!ok)
    fail("secret name {:?}: use 1 to {} letters, digits, '_', '.' or '-'", name.substr(0, 80),
         kMaxNameLength);
}

void check_env_target(std::string_view target) {
  bool ok = !target.empty() && target.size() <= 255 && !(target[0] >= '0' && target[0] <= '9');
  for (char c : target) ok = ok && (name_char(c) && c != '.' && c != '-');
  if (!ok)
    fail("target {:?}: not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", target.substr(0, 80));
}

std::string env_provider_var(std::string_view name) {
  return kEnvProviderPrefix + std::string(name);
}

SecretRef parse_secret_flag(std::string_view flag) {
  return with_context(fmt::format("--secret {:?}", flag), [&] {
    size_t comma = flag.find(',');
    if (comma == std::string_view::npos) fail("expected NAME,target=ENV");
    SecretRef ref{std::string(flag.substr(0, comma)), ""};
    std::string_view rest = flag.substr(comma + 1);
    if (rest.substr(0, 7) != "target=") fail("expected NAME,target=ENV");
    ref.target = std::string(rest.substr(7));
    check_secret_name(ref.name);
    check_env_target(ref.target);
    return ref;
  });
}

void check_unique_targets(const std::vector<SecretRef>& refs) {
  std::set<std::string> seen;
  for (const auto& r : refs)
    if (!seen.insert(r.target).second) fail("two secrets set the same target {}", r.target);
}

}  // namespace mcpvm::secrets
