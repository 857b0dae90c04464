#include "mcp/toml_edit.h"

#include <toml++/toml.h>
#include <optional>
#include <vector>

#include "util/error.h"

namespace mcpvm::mcp {

namespace {

using KeyPath = std::vector<std::string>;

struct Line {
  size_t begin = 0;               // offset of its first byte
  size_t end = 0;                 // offset just past it, including its newline
  std::optional<KeyPath> header;  // [a.b] or [[a.b]]: its key path
  bool blank_or_comment = false;
};

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// One key of a header at text[pos...]: bare, "basic" (the escapes \" and \\ decoded; others kept as
// written, which only matters for names that are not ours) or 'literal'. nullopt when it is none of these.
std::optional<std::string> scan_key(std::string_view text, size_t& pos) {
  std::string key;
  if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) {
    char quote = text[pos++];
    while (pos < text.size() && text[pos] != quote && text[pos] != '\n') {
      if (quote == '"' && text[pos] == '\\' && pos + 1 < text.size()) ++pos;
      key += text[pos++];
    }
    if (pos >= text.size() || text[pos] != quote) return std::nullopt;
    ++pos;
    return key;
  }
  while (pos < text.size() && is_bare_key_char(text[pos])) key += text[pos++];
  if (key.empty()) return std::nullopt;
  return key;
}

void skip_blanks(std::string_view text, size_t& pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
}

// A table header starting at text[pos] ('['): its key path, with pos moved past the closing bracket(s).
std::optional<KeyPath> scan_header(std::string_view text, size_t& pos) {
  bool array = text.substr(pos, 2) == "[[";
  pos += array ? 2 : 1;
  KeyPath path;
  for (;;) {
    skip_blanks(text, pos);
    auto key = scan_key(text, pos);
    if (!key) return std::nullopt;
    path.push_back(*key);
    skip_blanks(text, pos);
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      continue;
    }
    break;
  }
  std::string_view close = array ? "]]" : "]";
  if (text.substr(pos, close.size()) != close) return std::nullopt;
  pos += close.size();
  return path;
}

// Splits the document into lines and finds the table headers: a '[' that starts a line outside any
// string and outside a multi-line array value.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::vector<Line> lines() {
    std::vector<Line> out;
    while (pos_ < text_.size()) {
      Line line;
      line.begin = pos_;
      bool in_string_at_start = open_ != Open::none;
      if (!in_string_at_start) {
        skip_blanks(text_, pos_);
        line.blank_or_comment =
            pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '#';
        if (array_depth_ == 0 && pos_ < text_.size() && text_[pos_] == '[')
          line.header = scan_header(text_, pos_);
      }
      scan_rest_of_line();
      line.end = pos_;
      out.push_back(std::move(line));
    }
    return out;
  }

 private:
  enum class Open { none, basic_multiline, literal_multiline };

  // Moves past the rest of the line (and its newline), tracking strings, comments and array nesting.
  void scan_rest_of_line() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (open_ != Open::none) {
        std::string_view close = open_ == Open::basic_multiline ? "\"\"\"" : "'''";
        if (open_ == Open::basic_multiline && c == '\\') {
          pos_ += 2;
          continue;
        }
        if (text_.substr(pos_, 3) == close) {
          pos_ += 3;
          while (pos_ < text_.size() && text_[pos_] == close[0]) ++pos_;  // up to two quotes end the content
          open_ = Open::none;
          continue;
        }
        ++pos_;
        if (c == '\n') return;
        continue;
      }
      if (c == '\n') {
        ++pos_;
        return;
      }
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      if (text_.substr(pos_, 3) == "\"\"\"") {
        open_ = Open::basic_multiline;
        pos_ += 3;
        continue;
      }
      if (text_.substr(pos_, 3) == "'''") {
        open_ = Open::literal_multiline;
        pos_ += 3;
        continue;
      }
      if (c == '"' || c == '\'') {
        scan_key(text_, pos_);  // a one-line string has the same shape as a quoted key
        continue;
      }
      if (c == '[') ++array_depth_;
      if (c == ']' && array_depth_ > 0) --array_depth_;
      ++pos_;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  Open open_ = Open::none;
  int array_depth_ = 0;
};

bool starts_with(const KeyPath& path, const KeyPath& prefix) {
  return path.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

struct Region {
  size_t begin = 0;
  size_t end = 0;
};

// The bytes of the first run of headers at or under `entry` and their contents, without the blank and
// comment lines that precede the next table (they belong to it).
std::optional<Region> find_entry(const std::vector<Line>& lines, const KeyPath& entry) {
  size_t first = 0;
  while (first < lines.size() && !(lines[first].header && starts_with(*lines[first].header, entry))) ++first;
  if (first == lines.size()) return std::nullopt;
  size_t next = first + 1;
  while (next < lines.size() && !(lines[next].header && !starts_with(*lines[next].header, entry))) ++next;
  size_t last = next - 1;
  while (last > first && lines[last].blank_or_comment) --last;
  return Region{lines[first].begin, lines[last].end};
}

toml::table parse(std::string_view text, std::string_view what) {
  try {
    return toml::parse(text);
  } catch (const toml::parse_error& e) {
    fail("{} is not TOML (line {}: {})", what, e.source().begin.line, e.description());
  }
}

// Drops TOP when it is an empty table, so that removing the last entry compares equal whether or not the
// file keeps an explicit, now empty [TOP].
void drop_empty(toml::table& doc, std::string_view top) {
  if (auto* t = doc[top].as_table(); t && t->empty()) doc.erase(top);
}

// Proves the edit: `edited` must read as `expected`; anything else means the scanner misread the file.
void check_edit(std::string_view edited, toml::table expected, std::string_view top, std::string_view name) {
  std::optional<toml::table> got;
  try {
    got = toml::parse(edited);
    drop_empty(*got, top);
  } catch (const toml::parse_error&) {
  }
  drop_empty(expected, top);
  if (!got || *got != expected)
    fail(
        "its table {}.{} is written in a form mcpvm cannot edit without touching other lines (an inline "
        "table, "
        "dotted keys or sub-tables elsewhere in the file); change it by hand",
        top, name);
}

}  // namespace

std::string toml_set_table(std::string_view text, std::string_view top, std::string_view name,
                           std::string_view table) {
  toml::table old_doc = parse(text, "the file");
  toml::table fragment = parse(table, "the new entry");
  const toml::node* entry = fragment[top][name].node();
  if (!entry || !entry->is_table()) fail("the new entry does not define {}.{}", top, name);

  Scanner scanner(text);
  auto region = find_entry(scanner.lines(), {std::string(top), std::string(name)});
  std::string out;
  if (region) {
    out.append(text.substr(0, region->begin)).append(table).append(text.substr(region->end));
  } else {
    out.append(text);
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (!out.empty()) out += '\n';
    out.append(table);
  }
  if (!out.empty() && out.back() != '\n') out += '\n';

  toml::table expected = old_doc;
  if (!expected[top].is_table()) {
    if (expected.contains(top)) fail("{} is not a table", top);
    expected.insert(top, toml::table{});
  }
  expected[top].as_table()->insert_or_assign(name, *entry->as_table());
  check_edit(out, std::move(expected), top, name);
  return out;
}

std::string toml_remove_table(std::string_view text, std::string_view top, std::string_view name) {
  toml::table old_doc = parse(text, "the file");
  auto* top_table = old_doc[top].as_table();
  if (!top_table || !top_table->contains(name)) return std::string(text);

  Scanner scanner(text);
  auto region = find_entry(scanner.lines(), {std::string(top), std::string(name)});
  std::string out(text);
  if (region) out = std::string(text.substr(0, region->begin)) + std::string(text.substr(region->end));

  toml::table expected = old_doc;
  expected[top].as_table()->erase(name);
  check_edit(out, std::move(expected), top, name);
  return out;
}

}  // namespace mcpvm::mcp
