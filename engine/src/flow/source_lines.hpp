#pragma once
// Where a byte of a flow file is, counted the way the YAML parser counts its marks: a line ends
// at LF, CR LF, CR, NEL, LS or PS (YAML 1.1), a column counts characters (UTF-8 code points),
// and a byte order mark that opens the file is not counted. Lets a byte offset (an encoding
// error, a character inside a scalar) and a parser position meet.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow::detail {

class SourceLines {
 public:
  explicit SourceLines(std::string_view text);

  std::string_view text() const { return text_; }
  // The 1-based position of the byte at `offset` (or of the end of the text, past it).
  SourcePos pos_of(std::size_t offset) const;
  // The byte offset of a 1-based position; nullopt when no character is there.
  std::optional<std::size_t> offset_of(SourcePos pos) const;

 private:
  std::string_view text_;
  std::vector<std::size_t> line_starts_;  // byte offset of each line's first character
};

// "LINE:COL", as messages name another place in the file.
inline std::string format_pos(SourcePos pos) {
  return std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

// Characters (UTF-8 code points) in `text`: what a column counts.
std::size_t count_characters(std::string_view text);

}  // namespace sagaflow::flow::detail
