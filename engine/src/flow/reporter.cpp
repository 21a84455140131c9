#include "reporter.hpp"

#include <algorithm>
#include <tuple>

namespace sagaflow::flow::detail {

SourcePos Reporter::position(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

SourcePos Reporter::position_in_scalar(const YAML::Node& scalar, std::size_t offset) const {
  const YAML::Mark mark = scalar.Mark();
  const SourcePos start = position(mark);
  if (!scalar.IsScalar() || mark.pos < 0) return start;
  const std::string& value = scalar.Scalar();
  auto begin = static_cast<std::size_t>(mark.pos);
  // A quoted scalar's mark is at its opening quote.
  if (begin < source_.size() && (source_[begin] == '\'' || source_[begin] == '"')) ++begin;
  const bool verbatim =
      source_.substr(begin, value.size()) == value && value.find('\n') == std::string::npos;
  if (!verbatim || offset > value.size()) return start;
  const auto shift = static_cast<int>(begin - static_cast<std::size_t>(mark.pos) + offset);
  return {start.line, start.column + shift};
}

void Reporter::error(SourcePos pos, std::string message) {
  diagnostics_.push_back({file_, pos.line, pos.column, std::move(message)});
}

std::vector<Diagnostic> Reporter::take() {
  auto key = [](const Diagnostic& d) { return std::tie(d.line, d.column, d.message); };
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  auto same = [&](const Diagnostic& a, const Diagnostic& b) { return key(a) == key(b); };
  diagnostics_.erase(std::unique(diagnostics_.begin(), diagnostics_.end(), same),
                     diagnostics_.end());
  return std::move(diagnostics_);
}

}  // namespace sagaflow::flow::detail
