// Fuzz target: the image's /etc/passwd and /etc/group (untrusted) and the OCI User spec. The input is
// split at the first two NUL bytes into passwd, group and spec. Invariants: no crash; UserError is the
// only failure; a resolved user's groups start with its gid.
#include <cstdint>
#include <cstdlib>

#include "guest/users.h"

using namespace mcpvm::guest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto cut = [&in]() {
    auto nul = in.find('\0');
    std::string_view part = in.substr(0, nul);
    in.remove_prefix(nul == std::string_view::npos ? in.size() : nul + 1);
    return part;
  };
  auto passwd = parse_passwd(cut());
  auto groups = parse_group(cut());
  std::string_view spec = in.substr(0, 64);
  try {
    ResolvedUser r = resolve_user(spec, passwd, groups);
    if (r.groups.empty() || r.groups[0] != r.gid) std::abort();
  } catch (const UserError&) {
  }
  return 0;
}
