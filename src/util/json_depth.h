// Untrusted JSON (request bodies, lines and events from a guest, control requests, registry documents,
// archive metadata) is checked for nesting depth before nlohmann::json sees it: its dump(), copy and
// comparison recurse once per level, so a 2 MB "[[[[..." overflows the stack and kills the process.
// Header-only: the guest's static init parses the host's exec payloads with it too.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace mcpvm {

// Real documents stay far below: MCP tool input schemas nest 20-30 levels, OCI manifests 4.
inline constexpr size_t kMaxJsonDepth = 128;

// Whether text nests arrays/objects deeper than max_depth, counting brackets outside strings in one pass
// with no allocation. For invalid JSON the count is still an upper bound of what a parser builds before
// it fails, so a "no" makes parsing safe.
inline bool nested_deeper_than(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// Parses untrusted JSON: a discarded value (is_discarded()) when it is invalid or nests deeper than
// kMaxJsonDepth, which is checked first; *too_deep says which. Never throws.
inline nlohmann::json parse_untrusted_json(std::string_view text, bool* too_deep = nullptr) {
  const bool deep = nested_deeper_than(text, kMaxJsonDepth);
  if (too_deep) *too_deep = deep;
  if (deep) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

// "JSON nested deeper than 128 levels": what logs and peers are told.
inline std::string too_deep_reason() {
  return "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
}

}  // namespace mcpvm
