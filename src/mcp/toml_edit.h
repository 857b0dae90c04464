// Byte-preserving edits of TOML files (Codex's ~/.codex/config.toml): set or remove the table
// [TOP.NAME] together with its sub-tables ([TOP.NAME.env], ...), changing only those lines, so the user's
// other tables, comments and layout stay exactly as they were. Pure functions.
//
// The edit is found by a line scanner that knows TOML's strings (a '[' inside a multi-line string is not a
// header) and then proved by toml++: the result must parse to exactly the original document with only
// TOP.NAME changed. A document toml++ cannot read is refused, and so is an entry written in a form the
// scanner does not edit (inline tables, dotted keys, sub-tables scattered through the file): the caller
// leaves the file untouched and the message says what to do by hand.
#pragma once

#include <string>
#include <string_view>

namespace mcpvm::mcp {

// The document with TOP.NAME replaced by (or, when absent, appended as) `table`: TOML text that defines
// TOP.NAME and nothing else, e.g. `[mcp_servers."x"]\ncommand = "..."\n`. Throws Error as above.
std::string toml_set_table(std::string_view text, std::string_view top, std::string_view name,
                           std::string_view table);

// The document without TOP.NAME and its sub-tables; unchanged when it has none. Throws Error as above.
std::string toml_remove_table(std::string_view text, std::string_view top, std::string_view name);

}  // namespace mcpvm::mcp
