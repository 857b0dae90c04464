#include "mcp/jsonc_edit.h"

#include <cctype>
#include <optional>
#include <vector>

#include "util/error.h"

namespace mcpvm::mcp {

namespace {

struct Member {
  std::string key;
  size_t key_start = 0, value_start = 0, value_end = 0;
};

struct ObjectSpan {
  size_t open = 0, close = 0;  // the braces
  std::vector<Member> members;
};

// Finds the spans of values in a document nlohmann already accepted (comments allowed), so it only needs
// to be exact, not forgiving; every read is bounds-checked all the same.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  size_t skip(size_t p) const {
    while (p < t_.size()) {
      char c = t_[p];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++p;
      } else if (c == '/' && p + 1 < t_.size() && t_[p + 1] == '/') {
        while (p < t_.size() && t_[p] != '\n') ++p;
      } else if (c == '/' && p + 1 < t_.size() && t_[p + 1] == '*') {
        size_t end = t_.find("*/", p + 2);
        if (end == std::string_view::npos) bad(p);
        p = end + 2;
      } else {
        break;
      }
    }
    return p;
  }

  char at(size_t p) const {
    if (p >= t_.size()) bad(p);
    return t_[p];
  }

  ObjectSpan object(size_t p, int depth = 0) {
    ObjectSpan o;
    o.open = p;
    p = skip(p + 1);
    while (at(p) != '}') {
      Member m;
      m.key_start = p;
      size_t key_end = string_end(p);
      m.key = json::parse(t_.substr(p, key_end - p)).get<std::string>();
      p = skip(key_end);
      if (at(p) != ':') bad(p);
      m.value_start = skip(p + 1);
      m.value_end = value_end(m.value_start, depth + 1);
      o.members.push_back(m);
      p = skip(m.value_end);
      if (at(p) == ',') p = skip(p + 1);
    }
    o.close = p;
    return o;
  }

  size_t value_end(size_t p, int depth) {
    if (depth > int(kMaxJsonDepth)) fail("the file nests deeper than {} levels", kMaxJsonDepth);
    char c = at(p);
    if (c == '{') return object(p, depth).close + 1;
    if (c == '[') {
      p = skip(p + 1);
      while (at(p) != ']') {
        p = skip(value_end(p, depth + 1));
        if (at(p) == ',') p = skip(p + 1);
      }
      return p + 1;
    }
    if (c == '"') return string_end(p);
    size_t start = p;
    while (p < t_.size() &&
           (std::isalnum(static_cast<unsigned char>(t_[p])) || t_[p] == '-' || t_[p] == '+' || t_[p] == '.'))
      ++p;
    if (p == start) bad(p);
    return p;
  }

  // The indentation of the line `p` is on.
  std::string indent_of(size_t p) const {
    size_t line = t_.rfind('\n', p == 0 ? 0 : p - 1);
    line = line == std::string_view::npos ? 0 : line + 1;
    size_t end = line;
    while (end < t_.size() && (t_[end] == ' ' || t_[end] == '\t')) ++end;
    return std::string(t_.substr(line, end - line));
  }

 private:
  size_t string_end(size_t p) const {
    if (at(p) != '"') bad(p);
    for (++p; at(p) != '"'; ++p)
      if (t_[p] == '\\') ++p;
    return p + 1;
  }

  [[noreturn]] static void bad(size_t p) { fail("unexpected JSON at byte {}", p); }

  std::string_view t_;
};

json read_document(std::string_view text) {
  json doc =
      json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded() || nested_deeper_than(text, kMaxJsonDepth))
    fail("not valid JSON (comments are fine; trailing commas are not)");
  if (!doc.is_object()) fail("its top level is not a JSON object");
  return doc;
}

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// `value` as pretty JSON whose continuation lines start with `indent`.
std::string render(const json& value, const std::string& indent) {
  std::string out;
  for (char c : value.dump(2)) {
    out += c;
    if (c == '\n') out += indent;
  }
  return out;
}

const Member* find(const ObjectSpan& o, std::string_view key) {
  const Member* found = nullptr;
  for (const auto& m : o.members)
    if (m.key == key) found = &m;  // the last one wins, as for nlohmann
  return found;
}

std::string insert_member(std::string text, const Scanner& s, const ObjectSpan& o, std::string_view key,
                          const json& value) {
  std::string indent =
      o.members.empty() ? s.indent_of(o.open) + "  " : s.indent_of(o.members.back().key_start);
  std::string member = json(std::string(key)).dump() + ": " + render(value, indent);
  if (!o.members.empty()) return text.insert(o.members.back().value_end, ",\n" + indent + member);
  std::string_view inside = std::string_view(text).substr(o.open + 1, o.close - o.open - 1);
  if (blank(inside))
    return text.replace(o.open + 1, o.close - o.open - 1,
                        "\n" + indent + member + "\n" + s.indent_of(o.open));
  return text.insert(o.open + 1, "\n" + indent + member);
}

// The object that is root[top], or nullopt when root has no such member.
std::optional<ObjectSpan> top_object(Scanner& s, const ObjectSpan& root, std::string_view top) {
  const Member* m = find(root, top);
  if (!m) return std::nullopt;
  if (s.at(m->value_start) != '{') fail("its \"{}\" is not a JSON object", top);
  return s.object(m->value_start);
}

ObjectSpan root_object(Scanner& s) {
  return s.object(s.skip(0));
}

}  // namespace

std::string jsonc_set_member(std::string_view text, std::string_view top, std::string_view name,
                             const json& value) {
  if (blank(text)) return json{{std::string(top), {{std::string(name), value}}}}.dump(2) + "\n";
  read_document(text);
  Scanner s(text);
  ObjectSpan root = root_object(s);
  std::string out(text);
  if (auto obj = top_object(s, root, top)) {
    if (const Member* m = find(*obj, name))
      out.replace(m->value_start, m->value_end - m->value_start, render(value, s.indent_of(m->key_start)));
    else
      out = insert_member(out, s, *obj, name, value);
  } else {
    out = insert_member(out, s, root, top, json{{std::string(name), value}});
  }
  json after = read_document(out);
  const std::string top_key(top), name_key(name);
  if (!after.contains(top_key) || !after[top_key].contains(name_key) || after[top_key][name_key] != value)
    fail("editing the file did not give the expected entry (left untouched)");
  return out;
}

std::string jsonc_remove_member(std::string_view text, std::string_view top, std::string_view name) {
  if (blank(text)) return std::string(text);
  read_document(text);
  Scanner s(text);
  ObjectSpan root = root_object(s);
  auto obj = top_object(s, root, top);
  if (!obj) return std::string(text);
  std::string out(text);
  for (size_t i = obj->members.size(); i-- > 0;) {
    const Member& m = obj->members[i];
    if (m.key != name) continue;
    if (i > 0) {
      out.erase(obj->members[i - 1].value_end, m.value_end - obj->members[i - 1].value_end);
    } else if (obj->members.size() > 1) {
      out.erase(m.key_start, obj->members[1].key_start - m.key_start);
    } else {
      size_t end = s.skip(m.value_end);
      if (end < text.size() && text[end] == ',') ++end;
      out.erase(m.key_start, (end < text.size() && text[end - 1] == ',' ? end : m.value_end) - m.key_start);
    }
    break;
  }
  json after = read_document(out);
  const std::string top_key(top), name_key(name);
  if (after.contains(top_key) && after[top_key].is_object() && after[top_key].contains(name_key))
    fail("editing the file did not remove the entry (left untouched)");
  return out;
}

bool jsonc_has_member(std::string_view text, std::string_view top, std::string_view name) {
  if (blank(text)) return false;
  json doc = read_document(text);
  auto it = doc.find(std::string(top));
  return it != doc.end() && it->is_object() && it->contains(std::string(name));
}

}  // namespace mcpvm::mcp
