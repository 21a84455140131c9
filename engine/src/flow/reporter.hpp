#pragma once
// Collects the problems of one flow file with their exact source positions.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/loader.hpp"
#include "source_lines.hpp"
#include "yaml_tree.hpp"

namespace sagaflow::flow::detail {

class Reporter {
 public:
  Reporter(std::string file, std::string_view source) : file_(std::move(file)), source_(source) {}

  const SourceLines& source() const { return source_; }
  // The position of the character at `offset` inside a scalar's value. Exact when the scalar
  // is written on one line without escapes (the usual case for expressions and paths); else
  // the scalar's own position.
  SourcePos position_in_scalar(const YamlNode& scalar, std::size_t offset) const;

  // Every message is made printable here, once: it quotes keys and values from the file, and
  // those may hold control characters (written as escapes in a quoted scalar).
  void error(SourcePos pos, std::string_view message);
  void file_error(std::string_view message) { error(SourcePos{}, message); }

  // Not a refusal: `code` names the rule (what `allow_warnings` lists), `fix` how to fix it.
  void warning(SourcePos pos, std::string_view code, std::string_view message,
               std::string_view fix);

  bool has_errors() const { return !diagnostics_.empty(); }
  // Sorted by position; duplicates (an aliased node reported twice) are dropped.
  std::vector<Diagnostic> take() { return sorted(diagnostics_); }
  std::vector<Diagnostic> take_warnings() { return sorted(warnings_); }

 private:
  static std::vector<Diagnostic> sorted(std::vector<Diagnostic>& diagnostics);

  std::string file_;
  SourceLines source_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace sagaflow::flow::detail
