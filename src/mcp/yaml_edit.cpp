#include "mcp/yaml_edit.h"

#include <yaml-cpp/yaml.h>

#include <optional>
#include <vector>

#include "util/error.h"

namespace mcpvm::mcp {

namespace {

struct Line {
  size_t begin = 0;          // offset of its first byte
  size_t end = 0;            // offset just past it, including its newline
  size_t indent = 0;         // leading spaces
  bool significant = false;  // neither blank nor a comment
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    Line line;
    line.begin = pos;
    size_t nl = text.find('\n', pos);
    line.end = nl == std::string_view::npos ? text.size() : nl + 1;
    while (pos < line.end && text[pos] == ' ') ++pos;
    line.indent = pos - line.begin;
    line.significant = pos < line.end && text[pos] != '\n' && text[pos] != '\r' && text[pos] != '#';
    lines.push_back(line);
    pos = line.end;
  }
  return lines;
}

// The key of a block-mapping line `KEY: ...` (plain, "double" or 'single' quoted) and the offset just past
// its colon; nullopt for anything else (a sequence item, a scalar line, a flow collection).
std::optional<std::pair<std::string, size_t>> mapping_key(std::string_view text, const Line& line) {
  size_t pos = line.begin + line.indent;
  std::string key;
  if (pos < line.end && (text[pos] == '"' || text[pos] == '\'')) {
    char quote = text[pos++];
    while (pos < line.end && text[pos] != quote) {
      if (quote == '"' && text[pos] == '\\' && pos + 1 < line.end) ++pos;
      key += text[pos++];
    }
    if (pos >= line.end) return std::nullopt;
    ++pos;
    if (pos >= line.end || text[pos] != ':') return std::nullopt;
  } else {
    if (pos < line.end && (text[pos] == '-' || text[pos] == '{' || text[pos] == '[')) return std::nullopt;
    while (pos < line.end && !(text[pos] == ':' && (pos + 1 == line.end || text[pos + 1] == ' ' ||
                                                    text[pos + 1] == '\n' || text[pos + 1] == '\r'))) {
      if (text[pos] == '\n') return std::nullopt;
      key += text[pos++];
    }
    if (pos >= line.end) return std::nullopt;
    while (!key.empty() && key.back() == ' ') key.pop_back();
  }
  return std::pair{key, pos + 1};
}

// What follows KEY: on its line, without blanks and comment.
std::string_view value_after_colon(std::string_view text, const Line& line, size_t after_colon) {
  std::string_view rest = text.substr(after_colon, line.end - after_colon);
  size_t hash = rest.find(" #");
  if (!rest.empty() && rest.front() == '#') hash = 0;
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  while (!rest.empty() &&
         (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\n' || rest.back() == '\r'))
    rest.remove_suffix(1);
  return rest;
}

YAML::Node load(std::string_view text, std::string_view what) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() > 1)
      fail("{} holds {} YAML documents; mcpvm edits only single-document files", what, docs.size());
    YAML::Node doc = docs.empty() ? YAML::Node() : docs.front();
    if (!doc.IsNull() && !doc.IsMap()) fail("{} is not a YAML mapping at its top level", what);
    return doc;
  } catch (const YAML::Exception& e) {
    fail("{} is not YAML (line {}: {})", what, e.mark.line + 1, e.msg);
  }
}

bool same(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  switch (a.Type()) {
    case YAML::NodeType::Scalar:
      return a.Scalar() == b.Scalar();  // tags differ between parsed and built nodes; the text is what counts
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], b[i])) return false;
      return true;
    case YAML::NodeType::Map: {
      if (a.size() != b.size()) return false;
      for (const auto& ka : a) {
        bool found = false;
        for (const auto& kb : b)
          if (same(ka.first, kb.first)) {
            if (!same(ka.second, kb.second)) return false;
            found = true;
            break;
          }
        if (!found) return false;
      }
      return true;
    }
    default:
      return true;  // null, undefined
  }
}

// Drops TOP when it is null or an empty mapping, so that removing the last entry compares equal whichever
// of the two the edited file reads as.
void drop_empty(YAML::Node& doc, std::string_view top) {
  if (!doc.IsMap()) return;
  YAML::Node t = doc[std::string(top)];
  if (t.IsNull() || (t.IsMap() && t.size() == 0)) doc.remove(std::string(top));
}

void check_edit(std::string_view edited, YAML::Node expected, std::string_view top, std::string_view name) {
  YAML::Node got = load(edited, "the edited file");
  drop_empty(got, top);
  drop_empty(expected, top);
  if (!same(got, expected))
    fail(
        "its entry {}.{} is laid out in a way mcpvm cannot edit without touching other lines; change it by "
        "hand",
        top, name);
}

// Where TOP's block and NAME's entry are in the file (line indices).
struct Layout {
  std::optional<size_t> top;  // the line `TOP:`
  size_t block_end = 0;       // the first line after TOP's block (the next column-0 line)
  size_t last_in_block = 0;   // the last significant line of the block (TOP's line if none)
  size_t child_indent = 2;
  std::optional<size_t> entry;  // the line `NAME:`
  size_t entry_last = 0;        // the last significant line of the entry
};

Layout find_layout(std::string_view text, const std::vector<Line>& lines, std::string_view top,
                   std::string_view name) {
  Layout l;
  for (size_t i = 0; i < lines.size() && !l.top; ++i)
    if (lines[i].significant && lines[i].indent == 0)
      if (auto key = mapping_key(text, lines[i]); key && key->first == top) l.top = i;
  if (!l.top) return l;
  l.block_end = *l.top + 1;
  l.last_in_block = *l.top;
  bool indent_known = false;
  while (l.block_end < lines.size() && !(lines[l.block_end].significant && lines[l.block_end].indent == 0)) {
    const Line& line = lines[l.block_end];
    if (line.significant) {
      if (!indent_known) l.child_indent = line.indent, indent_known = true;
      l.last_in_block = l.block_end;
    }
    ++l.block_end;
  }
  for (size_t i = *l.top + 1; i < l.block_end; ++i) {
    const Line& line = lines[i];
    if (!line.significant) continue;
    if (l.entry) {
      if (line.indent <= l.child_indent) break;
      l.entry_last = i;
    } else if (line.indent == l.child_indent) {
      if (auto key = mapping_key(text, line); key && key->first == name) l.entry = l.entry_last = i;
    }
  }
  return l;
}

// The fragment's entry lines (all but `TOP:`), each level of two spaces widened to the file's `step`.
std::string entry_lines(std::string_view fragment, size_t step) {
  std::string out;
  std::vector<Line> lines = split_lines(fragment);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line =
        fragment.substr(lines[i].begin + lines[i].indent, lines[i].end - lines[i].begin - lines[i].indent);
    out.append(lines[i].indent / 2 * step, ' ').append(line);
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

std::string with_newline(std::string_view text) {
  std::string out(text);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

}  // namespace

std::string yaml_set_entry(std::string_view text, std::string_view top, std::string_view name,
                           std::string_view fragment) {
  YAML::Node old_doc = load(text, "the file");
  YAML::Node new_entry = load(fragment, "the new entry")[std::string(top)][std::string(name)];
  if (!new_entry || !new_entry.IsMap()) fail("the new entry does not define {}.{}", top, name);

  std::vector<Line> lines = split_lines(text);
  Layout l = find_layout(text, lines, top, name);
  std::string out;
  if (!l.top) {
    out = with_newline(text) + std::string(top) + ":\n" + entry_lines(fragment, 2);
  } else {
    const Line& top_line = lines[*l.top];
    auto value = value_after_colon(text, top_line, mapping_key(text, top_line)->second);
    std::string entry = entry_lines(fragment, l.child_indent);
    if (!value.empty()) {
      if (value != "{}" && value != "~" && value != "null")
        fail("{} is written in flow style (`{}: {}`); rewrite it as a block mapping or change it by hand",
             top, top, value);
      // `TOP: {}` and `TOP: null` become a block with the one entry.
      out = std::string(text.substr(0, top_line.begin)) + std::string(top) + ":\n" +
            entry_lines(fragment, 2) + std::string(text.substr(top_line.end));
    } else if (l.entry) {
      out = std::string(text.substr(0, lines[*l.entry].begin)) + entry +
            std::string(text.substr(lines[l.entry_last].end));
    } else {
      size_t at = lines[l.last_in_block].end;
      out = with_newline(text.substr(0, at)) + entry + std::string(text.substr(at));
    }
  }

  YAML::Node expected = YAML::Clone(old_doc);
  if (expected.IsNull()) expected = YAML::Node(YAML::NodeType::Map);
  YAML::Node expected_top = expected[std::string(top)];
  if (expected_top.IsDefined() && !expected_top.IsNull() && !expected_top.IsMap())
    fail("{} is not a mapping", top);
  expected_top[std::string(name)] = YAML::Clone(new_entry);
  check_edit(out, expected, top, name);
  return out;
}

std::string yaml_remove_entry(std::string_view text, std::string_view top, std::string_view name) {
  YAML::Node old_doc = load(text, "the file");
  if (!old_doc.IsMap() || !old_doc[std::string(top)].IsMap() || !old_doc[std::string(top)][std::string(name)])
    return std::string(text);
  std::vector<Line> lines = split_lines(text);
  Layout l = find_layout(text, lines, top, name);
  std::string out(text);
  if (l.entry)
    out = std::string(text.substr(0, lines[*l.entry].begin)) +
          std::string(text.substr(lines[l.entry_last].end));

  YAML::Node expected = YAML::Clone(old_doc);
  expected[std::string(top)].remove(std::string(name));
  check_edit(out, expected, top, name);
  return out;
}

}  // namespace mcpvm::mcp
