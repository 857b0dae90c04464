// OCI `User` resolution against the image's own /etc/passwd and /etc/group. Parsed by hand: glibc's
// getpwnam/getgrouplist need NSS shared libraries at run time, which a static init cannot load, and
// these files come from the image (untrusted): malformed lines are skipped, never fatal.
#pragma once

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::guest {

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

std::vector<PasswdEntry> parse_passwd(std::string_view text);
std::vector<GroupEntry> parse_group(std::string_view text);

// A decimal id in [0, 2^32-2]; nullopt for anything else ("", "-1", "1x", overflow).
std::optional<uint32_t> parse_id(std::string_view s);

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (includes gid)
  std::string home = "/";
  std::string name;  // empty when the uid has no passwd entry
};

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Resolves "user[:group]" where each part is a name or a numeric id, as runc does: a name must exist in
// the files (else UserError); a numeric uid need not. Supplementary groups are the groups listing the
// user by name, only when no group was given explicitly. An empty spec means root.
ResolvedUser resolve_user(std::string_view spec, const std::vector<PasswdEntry>& passwd,
                          const std::vector<GroupEntry>& groups);

}  // namespace mcpvm::guest
