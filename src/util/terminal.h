// Bytes from a guest made safe to print: a hostile server can write escape sequences that retitle the
// window, rewrite what is on screen, set the clipboard (OSC 52) or plant hyperlinks, in its log lines and
// in the failure summaries `run` prints. Every control character except newline and tab (and the CR of
// a CRLF) is shown as visible text, "\x1b", as is every byte that is not part of valid UTF-8. C1
// controls (U+0080..U+009F, which some terminals obey) are shown as their UTF-8 bytes: "\xc2\x9b".
// Applied whether or not stdout is a terminal (docker and podman print raw): output piped through grep,
// tail or `less -R` still lands on one, and we cannot see that from here. Whoever needs the exact bytes
// reads the log file itself (under $MCPVM_HOME/vms/NAME/logs/).
#pragma once

#include <string>
#include <string_view>

namespace mcpvm {

// The whole text, neutralised (an incomplete UTF-8 sequence at the end is shown as \x bytes).
std::string neutralize_controls(std::string_view text);

// The same for a stream read in chunks: a UTF-8 sequence (or a CRLF) split between two chunks is held
// back until the next one completes it, so it is not mistaken for invalid bytes.
class ControlNeutralizer {
 public:
  std::string feed(std::string_view chunk);
  std::string finish();  // what was held back, neutralised as a final piece

 private:
  std::string held_;
};

}  // namespace mcpvm
