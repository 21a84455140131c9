#include "source_lines.hpp"

#include <algorithm>

namespace sagaflow::flow::detail {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

bool is_continuation(char byte) {
  return (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
}

// The length of the line break at `at`, or 0 when there is none.
std::size_t break_length(std::string_view text, std::size_t at) {
  const std::string_view rest = text.substr(at);
  if (rest.starts_with("\r\n")) return 2;
  if (rest.starts_with('\n') || rest.starts_with('\r')) return 1;
  if (rest.starts_with("\xC2\x85")) return 2;                                          // NEL
  if (rest.starts_with("\xE2\x80\xA8") || rest.starts_with("\xE2\x80\xA9")) return 3;  // LS, PS
  return 0;
}

}  // namespace

std::size_t count_characters(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char byte) { return !is_continuation(byte); }));
}

SourceLines::SourceLines(std::string_view text) : text_(text) {
  line_starts_.push_back(text.starts_with(kByteOrderMark) ? kByteOrderMark.size() : 0);
  for (std::size_t at = line_starts_.front(); at < text.size();) {
    const std::size_t length = break_length(text, at);
    if (length == 0) {
      ++at;
      continue;
    }
    at += length;
    line_starts_.push_back(at);
  }
}

SourcePos SourceLines::pos_of(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  const auto next_line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const auto line = next_line == line_starts_.begin() ? next_line : next_line - 1;
  const std::size_t start = std::min(*line, offset);
  const auto column = count_characters(text_.substr(start, offset - start));
  return {static_cast<int>(line - line_starts_.begin()) + 1, static_cast<int>(column) + 1};
}

std::optional<std::size_t> SourceLines::offset_of(SourcePos pos) const {
  if (pos.line < 1 || pos.column < 1 || static_cast<std::size_t>(pos.line) > line_starts_.size()) {
    return std::nullopt;
  }
  const auto line = static_cast<std::size_t>(pos.line - 1);
  const std::size_t end = line + 1 < line_starts_.size() ? line_starts_[line + 1] : text_.size();
  int column = 1;
  for (std::size_t at = line_starts_[line]; at < end; ++at) {
    if (is_continuation(text_[at])) continue;
    if (column == pos.column) return at;
    ++column;
  }
  return std::nullopt;
}

}  // namespace sagaflow::flow::detail
