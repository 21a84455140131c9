#pragma once
// Collects the problems of one flow file with their exact source positions.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sagaflow/flow/loader.hpp"

namespace sagaflow::flow::detail {

class Reporter {
 public:
  Reporter(std::string file, std::string_view source) : file_(std::move(file)), source_(source) {}

  // 1-based position of a yaml-cpp mark (which is 0-based); line 0 when the mark is null.
  static SourcePos position(const YAML::Mark& mark);
  // The position of the character at `offset` inside a scalar's value. Exact when the scalar
  // is written on one line without escapes (the usual case for expressions and paths); else
  // the scalar's own position.
  SourcePos position_in_scalar(const YAML::Node& scalar, std::size_t offset) const;

  void error(SourcePos pos, std::string message);
  void error(const YAML::Mark& mark, std::string message) {
    error(position(mark), std::move(message));
  }
  void file_error(std::string message) { error(SourcePos{}, std::move(message)); }

  bool has_errors() const { return !diagnostics_.empty(); }
  // Sorted by position; duplicates (an aliased node reported twice) are dropped.
  std::vector<Diagnostic> take();

 private:
  std::string file_;
  std::string_view source_;
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace sagaflow::flow::detail
