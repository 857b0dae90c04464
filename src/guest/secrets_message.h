// The Secrets control message (guest/protocol.h): host → guest {"env": ["KEY=VALUE", ...]}, the values of
// `run --secret` references. Pure functions shared by the runner (encode) and the init (parse), unit-tested
// against hostile payloads. The caller wipes what it no longer needs (the strings hold secret values).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::guest {

inline constexpr size_t kMaxSecretEntries = 1024;

// Throws ProtocolError when an entry is not KEY=VALUE with a valid key, holds a NUL, or there are too many.
std::string encode_secrets(const std::vector<std::string>& env);

// Strict: a JSON object with exactly the key "env", an array of at most kMaxSecretEntries strings, each
// "KEY=VALUE" with KEY matching [A-Za-z_][A-Za-z0-9_]* and no NUL anywhere; exactly `expected` entries.
// Throws ProtocolError naming what is wrong (never the value).
std::vector<std::string> parse_secrets(std::string_view payload, size_t expected);

// Overwrites the bytes of each string (a store the compiler keeps) and clears the vector.
void wipe_strings(std::vector<std::string>& strings);
void wipe_string(std::string& s);

}  // namespace mcpvm::guest
