#pragma once
// Loads and verifies flow files. Every problem is reported, not just the first, each as
// `file:line:col: message` at the offending key, value or character. Lines and columns are
// 1-based; a column counts characters (UTF-8 code points), as the YAML parser does.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow {

enum class Severity { error, warning };

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem concerns the whole file
  int column = 0;  // 1-based
  std::string message;
  Severity severity = Severity::error;
  // Warnings only: what the warning is (e.g. "unread_output", the name a step's
  // `allow_warnings` lists) and how to fix it.
  std::string code;
  std::string fix;

  // "file:line:col: error: message", or for a warning
  // "file:line:col: warning: message [code]" and the fix on a second line "  fix: ...".
  std::string to_string() const;
};

struct LoadLimits {
  std::size_t max_bytes = 1 << 20;  // a flow file is small; bigger is hostile or a mistake
  int max_depth = 64;               // nesting of YAML collections, through aliases too
  std::size_t max_nodes = 100'000;  // counting what aliases repeat: refuses "billion laughs"
};

struct LoadResult {
  std::shared_ptr<const Flow> flow;     // set only when there are no diagnostics
  std::vector<Diagnostic> diagnostics;  // errors: the flow is refused
  // What a valid flow may get wrong without being refused (compensation coverage, unread
  // outputs, conditions that never hold, near-miss service names), sorted by position. Computed
  // only for a flow without errors; docs/flow-tooling.md gives each rule.
  std::vector<Diagnostic> warnings;
  bool ok() const { return flow != nullptr && diagnostics.empty(); }
};

LoadResult load_flow_text(std::string_view text, const std::string& file_name,
                          const LoadLimits& limits = {});
LoadResult load_flow_file(const std::filesystem::path& path, const LoadLimits& limits = {});

}  // namespace sagaflow::flow
