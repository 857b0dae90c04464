// Who may use an endpoint: the holder of its bearer token (RFC 6750). Each VM's endpoint has one random
// token, kept 0600 in the VM's directory (runner/state.h, VmDir::endpoint_token_file); clients send
// "Authorization: Bearer <token>" on every request. Pure functions, no I/O: the HTTP front asks
// check_bearer() and answers 401 with www_authenticate() when it fails.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mcpvm::mcp {

// 256 bits from the CSPRNG, hex.
std::string new_bearer_token();

// Whether a token read from a file (or given by a user) is one we could have issued: 32 to 256 visible
// ASCII characters without spaces (RFC 6750's b64token alphabet is a subset).
bool is_valid_bearer_token(std::string_view token);

enum class BearerCheck {
  ok,
  missing,  // no Authorization header, or not the Bearer scheme
  invalid,  // a Bearer credential that is not the token
};

// Checks an Authorization header against the expected token. The scheme name is case-insensitive and
// may be followed by several spaces (RFC 7235); the token is compared in constant time.
BearerCheck check_bearer(std::optional<std::string_view> authorization, std::string_view expected);

// The WWW-Authenticate value of a 401 answer for that outcome (RFC 6750 section 3).
std::string www_authenticate(BearerCheck outcome);

}  // namespace mcpvm::mcp
