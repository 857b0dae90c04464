#include "mcp/bearer_auth.h"

#include <cctype>

#include "util/crypto.h"

namespace mcpvm::mcp {

namespace {

constexpr size_t kTokenBytes = 32;  // 256 bits
constexpr std::string_view kScheme = "bearer";

bool starts_with_scheme(std::string_view header) {
  if (header.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  return header[kScheme.size()] == ' ';
}

}  // namespace

std::string new_bearer_token() {
  return random_hex(kTokenBytes);
}

bool is_valid_bearer_token(std::string_view token) {
  if (token.size() < 32 || token.size() > 256) return false;
  for (char c : token)
    if (c <= ' ' || c > '~') return false;
  return true;
}

BearerCheck check_bearer(std::optional<std::string_view> authorization, std::string_view expected) {
  if (!authorization || !starts_with_scheme(*authorization)) return BearerCheck::missing;
  if (expected.empty()) return BearerCheck::invalid;  // no token configured admits nobody
  std::string_view credential = authorization->substr(kScheme.size());
  while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
  while (!credential.empty() && (credential.back() == ' ' || credential.back() == '\t'))
    credential.remove_suffix(1);
  return equal_constant_time(credential, expected) ? BearerCheck::ok : BearerCheck::invalid;
}

std::string www_authenticate(BearerCheck outcome) {
  std::string value = "Bearer realm=\"mcpvm\"";
  if (outcome == BearerCheck::invalid) value += ", error=\"invalid_token\"";
  return value;
}

}  // namespace mcpvm::mcp
