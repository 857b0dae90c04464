// neutralize_controls: what a hostile guest's bytes look like once they reach a terminal.
#include <gtest/gtest.h>

#include "util/terminal.h"

using mcpvm::ControlNeutralizer;
using mcpvm::neutralize_controls;

TEST(UtilTerminal, PlainTextNewlinesTabsAndUtf8PassUnchanged) {
  EXPECT_EQ(neutralize_controls("line 1\n\tindented — café ✓ 🚀\r\n"), "line 1\n\tindented — café ✓ 🚀\r\n");
}

TEST(UtilTerminal, EscapeSequencesBecomeVisibleText) {
  EXPECT_EQ(neutralize_controls("\x1b[2J\x1b]0;pwned\x07"), "\\x1b[2J\\x1b]0;pwned\\x07");
  EXPECT_EQ(neutralize_controls("\x1b]52;c;ZXZpbA==\x1b\\"), "\\x1b]52;c;ZXZpbA==\\x1b\\");  // clipboard
}

TEST(UtilTerminal, OtherC0ControlsAndDelAreEscaped) {
  EXPECT_EQ(neutralize_controls(std::string("a\0b\x08\x7f\x0c", 6)), "a\\x00b\\x08\\x7f\\x0c");
  EXPECT_EQ(neutralize_controls("fake\rreal"), "fake\\x0dreal");  // a lone CR would overwrite the line
}

TEST(UtilTerminal, C1ControlsAreEscapedEncodedOrRaw) {
  EXPECT_EQ(neutralize_controls("\xc2\x9b"
                                "31m"),
            "\\xc2\\x9b31m");  // U+009B CSI
  EXPECT_EQ(neutralize_controls("\x9b"
                                "31m"),
            "\\x9b31m");                                   // a raw 8-bit CSI
  EXPECT_EQ(neutralize_controls("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is printable
}

TEST(UtilTerminal, InvalidUtf8IsEscapedBytewise) {
  EXPECT_EQ(neutralize_controls("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(neutralize_controls("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(neutralize_controls("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // beyond U+10FFFF
  EXPECT_EQ(neutralize_controls("end\xe2\x9c"), "end\\xe2\\x9c");              // cut short at the end
}

TEST(UtilTerminal, AStreamSplitInsideASequenceIsNotMangled) {
  std::string text = "✓\r\n\x1b[0m🚀";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    ControlNeutralizer n;
    std::string out = n.feed(std::string_view(text).substr(0, cut));
    out += n.feed(std::string_view(text).substr(cut));
    out += n.finish();
    EXPECT_EQ(out, neutralize_controls(text)) << "cut at " << cut;
  }
}

TEST(UtilTerminal, WhatAStreamHoldsBackIsFlushedByFinish) {
  ControlNeutralizer n;
  EXPECT_EQ(n.feed("ok\xe2\x9c"), "ok");
  EXPECT_EQ(n.finish(), "\\xe2\\x9c");
}
