// Byte-preserving edits of YAML files (Goose's ~/.config/goose/config.yaml): set or remove the entry NAME
// of the top-level block mapping TOP (`extensions:`), changing only that entry's lines, so the user's other
// keys, comments and layout stay exactly as they were. Pure functions.
//
// The edit is found by indentation (the entry is the line `NAME:` at TOP's child indent and every deeper
// line after it) and then proved by yaml-cpp: the result must load to exactly the original document with
// only TOP.NAME changed. A document yaml-cpp cannot load, a stream of several documents, a TOP written in
// flow style (`extensions: {a: ...}`), or an entry the indentation rule gets wrong is refused: the caller
// leaves the file untouched and the message says what to do by hand.
#pragma once

#include <string>
#include <string_view>

namespace mcpvm::mcp {

// The document with TOP.NAME replaced by (or, when absent, added as) the entry that `fragment` declares:
// a YAML document `TOP:\n  NAME:\n    key: value\n...` indented by two spaces per level. The entry is
// re-indented to the file's own child indent. Throws Error as above.
std::string yaml_set_entry(std::string_view text, std::string_view top, std::string_view name,
                           std::string_view fragment);

// The document without TOP.NAME; unchanged when it has none. Throws Error as above.
std::string yaml_remove_entry(std::string_view text, std::string_view top, std::string_view name);

}  // namespace mcpvm::mcp
