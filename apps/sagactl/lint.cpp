// `sagactl lint [--strict] FILE...`: loads and verifies flow files, prints every problem and
// every warning.
#include <ostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

constexpr std::string_view kLintUsage =
    "usage: sagactl lint [--strict] FILE...\n"
    "\n"
    "Checks flow files: YAML syntax, keys and types, step references, expressions,\n"
    "durations, compensations and retry bounds. Prints each problem to stderr as\n"
    "file:line:col: error: message. A flow without errors is then checked for warnings\n"
    "(compensation coverage, unread outputs, conditions that never hold, near-miss\n"
    "service names), each printed as file:line:col: warning: message [code] with a\n"
    "'  fix: ...' line; docs/flow-tooling.md gives the rules. Then a summary.\n"
    "\n"
    "  --strict  warnings fail the check too\n"
    "\n"
    "Exit status: 0 when no file has an error (warnings allowed), 1 when any has an error\n"
    "(or, with --strict, a warning), 2 on usage errors.\n";

std::string count_text(std::size_t n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

}  // namespace

int run_lint(std::span<const std::string_view> args, Context& ctx) {
  bool strict = false;
  std::vector<std::string_view> files;
  for (std::string_view arg : args) {
    if (arg == "--help" || arg == "-h") {
      ctx.out << kLintUsage;
      return kExitOk;
    }
    if (arg == "--strict") {
      strict = true;
    } else if (arg.starts_with("-")) {
      ctx.err << "sagactl lint: unknown option '" << arg << "'\n" << kLintUsage;
      return kExitUsage;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    ctx.err << "sagactl lint: no files given\n" << kLintUsage;
    return kExitUsage;
  }
  std::size_t files_with_errors = 0;
  std::size_t errors = 0;
  std::size_t warnings = 0;
  for (std::string_view file : files) {
    const auto result = sagaflow::flow::load_flow_file(std::string(file));
    for (const auto& diagnostic : result.diagnostics) {
      ctx.err << sagaflow::text::printable(diagnostic.to_string()) << '\n';
    }
    for (const auto& warning : result.warnings) {
      // The fix is on its own line: printable() would escape the line break.
      auto shown = warning;
      shown.fix.clear();
      ctx.err << sagaflow::text::printable(shown.to_string()) << '\n';
      if (!warning.fix.empty())
        ctx.err << "  fix: " << sagaflow::text::printable(warning.fix) << '\n';
    }
    errors += result.diagnostics.size();
    warnings += result.warnings.size();
    if (!result.ok()) ++files_with_errors;
  }
  std::string summary = files_with_errors == 0 ? "all clean"
                                               : count_text(errors, "error") + " in " +
                                                     count_text(files_with_errors, "file");
  if (warnings > 0) {
    summary = (files_with_errors == 0 ? std::string("no errors, ") : summary + ", ") +
              count_text(warnings, "warning");
  }
  ctx.err << count_text(files.size(), "file") << " checked: " << summary << '\n';
  if (files_with_errors > 0 || (strict && warnings > 0)) return kExitFailure;
  return kExitOk;
}

}  // namespace sagactl
