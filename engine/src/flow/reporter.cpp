#include "reporter.hpp"

#include <algorithm>
#include <tuple>

#include "sagaflow/text/printable.hpp"

namespace sagaflow::flow::detail {

SourcePos Reporter::position_in_scalar(const YamlNode& scalar, std::size_t offset) const {
  const SourcePos start = scalar.pos();
  const auto at = source_.offset_of(start);
  if (!scalar.is_scalar() || !at) return start;
  const std::string& value = scalar.scalar();
  const std::string_view text = source_.text();
  // A quoted scalar's position is its opening quote.
  const std::size_t quote = text[*at] == '\'' || text[*at] == '"' ? 1 : 0;
  const bool verbatim = text.substr(*at + quote, value.size()) == value &&
                        value.find_first_of("\r\n") == std::string::npos;
  if (!verbatim || offset > value.size()) return start;
  const auto shift = quote + count_characters(std::string_view(value).substr(0, offset));
  return {start.line, start.column + static_cast<int>(shift)};
}

void Reporter::error(SourcePos pos, std::string_view message) {
  diagnostics_.push_back({file_, pos.line, pos.column, text::printable(message)});
}

void Reporter::warning(SourcePos pos, std::string_view code, std::string_view message,
                       std::string_view fix) {
  warnings_.push_back({file_, pos.line, pos.column, text::printable(message), Severity::warning,
                       std::string(code), text::printable(fix)});
}

std::vector<Diagnostic> Reporter::sorted(std::vector<Diagnostic>& diagnostics) {
  auto key = [](const Diagnostic& d) { return std::tie(d.line, d.column, d.message); };
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  auto same = [&](const Diagnostic& a, const Diagnostic& b) { return key(a) == key(b); };
  diagnostics.erase(std::unique(diagnostics.begin(), diagnostics.end(), same), diagnostics.end());
  return std::move(diagnostics);
}

}  // namespace sagaflow::flow::detail
