#include "util/terminal.h"

#include <fmt/format.h>

namespace mcpvm {

namespace {

// The length of the valid UTF-8 sequence at the start of `s`, 0 when it is invalid, or npos when `s`
// ends before the sequence does (it may still be valid once more bytes arrive).
size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  if (lead < 0xc2 || lead > 0xf4) return 0;  // a stray continuation byte, or an overlong/out-of-range lead
  for (size_t i = 1; i < length; ++i) {
    if (i >= s.size()) return std::string_view::npos;
    unsigned char c = byte(i);
    if ((c & 0xc0) != 0x80) return 0;
    if (i == 1) {  // the second byte also rules out overlong forms, surrogates and code points > U+10FFFF
      if ((lead == 0xe0 && c < 0xa0) || (lead == 0xed && c > 0x9f) || (lead == 0xf0 && c < 0x90) ||
          (lead == 0xf4 && c > 0x8f))
        return 0;
    }
  }
  return length;
}

bool is_c1_control(std::string_view sequence) {
  return sequence.size() == 2 && static_cast<unsigned char>(sequence[0]) == 0xc2 &&
         static_cast<unsigned char>(sequence[1]) < 0xa0;
}

void append_escaped(std::string& out, std::string_view bytes) {
  for (unsigned char c : bytes) out += fmt::format("\\x{:02x}", c);
}

// Neutralises `in` into `out`. Unless `final`, stops before a trailing piece that the next chunk may
// complete; returns how many bytes of `in` were consumed.
size_t neutralize_into(std::string_view in, bool final, std::string& out) {
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
      out += char(c);
      ++i;
    } else if (c == '\r') {
      if (i + 1 == in.size() && !final) return i;
      if (i + 1 < in.size() && in[i + 1] == '\n')
        out += '\r';  // CRLF line ends are harmless
      else
        append_escaped(out, in.substr(i, 1));
      ++i;
    } else if (c < 0x80) {  // C0 controls and DEL
      append_escaped(out, in.substr(i, 1));
      ++i;
    } else {
      size_t length = utf8_sequence_length(in.substr(i));
      if (length == std::string_view::npos && !final) return i;
      if (length == 0 || length == std::string_view::npos) {
        append_escaped(out, in.substr(i, 1));
        ++i;
        continue;
      }
      std::string_view sequence = in.substr(i, length);
      if (is_c1_control(sequence))
        append_escaped(out, sequence);
      else
        out += sequence;
      i += length;
    }
  }
  return i;
}

}  // namespace

std::string neutralize_controls(std::string_view text) {
  std::string out;
  neutralize_into(text, true, out);
  return out;
}

std::string ControlNeutralizer::feed(std::string_view chunk) {
  held_.append(chunk);
  std::string out;
  held_.erase(0, neutralize_into(held_, false, out));
  return out;
}

std::string ControlNeutralizer::finish() {
  std::string out = neutralize_controls(held_);
  held_.clear();
  return out;
}

}  // namespace mcpvm
