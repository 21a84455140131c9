#pragma once
// Text from input (a flow file, a message, a request) made safe for a terminal or a log line:
// one line, no control characters that could move the cursor or erase what was printed.
#include <cstdio>
#include <string>
#include <string_view>

#include "sagaflow/text/utf8.hpp"

namespace sagaflow::text {

// Escapes C0 controls (newline and tab included), DEL and C1 controls (U+0080..U+009F) as
// `\n`, `\t`, `\r` or `\xNN`, and each byte of malformed UTF-8 as `\xNN`. Printable text,
// including any well-formed non-ASCII character, passes unchanged.
inline std::string printable(std::string_view input) {
  std::string out;
  out.reserve(input.size());
  const auto hex = [&out](unsigned char byte) {
    char buffer[5];
    std::snprintf(buffer, sizeof buffer, "\\x%02x", byte);
    out += buffer;
  };
  for (std::size_t at = 0; at < input.size();) {
    const auto byte = static_cast<unsigned char>(input[at]);
    const std::size_t length = utf8_sequence_length(input, at);
    if (length == 0) {
      hex(byte);
      ++at;
    } else if (length == 1 && (byte < 0x20 || byte == 0x7F)) {
      if (byte == '\n') {
        out += "\\n";
      } else if (byte == '\t') {
        out += "\\t";
      } else if (byte == '\r') {
        out += "\\r";
      } else {
        hex(byte);
      }
      ++at;
    } else if (length == 2 && byte == 0xC2 && static_cast<unsigned char>(input[at + 1]) < 0xA0) {
      // A C1 control (U+0080..U+009F): some terminals obey U+009B as ESC [.
      hex(byte);
      hex(static_cast<unsigned char>(input[at + 1]));
      at += 2;
    } else {
      out.append(input.substr(at, length));
      at += length;
    }
  }
  return out;
}

}  // namespace sagaflow::text
