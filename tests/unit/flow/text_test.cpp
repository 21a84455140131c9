// The text helpers every output path uses for input-derived text.
#include <doctest/doctest.h>

#include <string>

#include "sagaflow/text/printable.hpp"
#include "sagaflow/text/utf8.hpp"

using sagaflow::text::first_invalid_utf8;
using sagaflow::text::printable;

TEST_CASE("first_invalid_utf8 finds the first byte that is not well-formed UTF-8") {
  CHECK_FALSE(first_invalid_utf8("").has_value());
  CHECK_FALSE(first_invalid_utf8("plain ascii").has_value());
  CHECK_FALSE(first_invalid_utf8("Привет, 안녕, 🎉").has_value());
  CHECK(first_invalid_utf8("ab\xff") == 2u);                 // never a UTF-8 byte
  CHECK(first_invalid_utf8("a\x80") == 1u);                  // a stray continuation byte
  CHECK(first_invalid_utf8("ok \xd0") == 3u);                // truncated at the end
  CHECK(first_invalid_utf8("\xc0\xaf") == 0u);               // overlong '/'
  CHECK(first_invalid_utf8("\xe0\x80\xaf") == 0u);           // overlong, three bytes
  CHECK(first_invalid_utf8("x\xed\xa0\x80") == 1u);          // a surrogate
  CHECK(first_invalid_utf8("\xf4\x90\x80\x80") == 0u);       // past U+10FFFF
  CHECK(first_invalid_utf8("\xe2\x82\xac \xe2\x82") == 4u);  // the euro sign, then half of one
}

TEST_CASE("printable escapes what would steer a terminal and keeps everything else") {
  CHECK(printable("step 'reserve'") == "step 'reserve'");
  CHECK(printable("Привет 🎉") == "Привет 🎉");
  CHECK(printable("a\x1b[2Kb") == "a\\x1b[2Kb");
  CHECK(printable("line\nnext\tcol\r") == "line\\nnext\\tcol\\r");
  CHECK(printable(std::string("nul\0end", 7)) == "nul\\x00end");
  CHECK(printable("del\x7f") == "del\\x7f");
  CHECK(printable("csi\xc2\x9b"
                  "2K") == "csi\\xc2\\x9b2K");  // U+009B, a C1 control
  CHECK(printable("bad\xff") == "bad\\xff");
  CHECK(printable("\xc2\xa0") == "\xc2\xa0");  // U+00A0 is printable
}
