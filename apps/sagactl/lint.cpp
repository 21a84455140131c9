// `sagactl lint FILE...`: loads and verifies flow files, prints every problem.
#include <ostream>
#include <string>

#include "command.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

constexpr std::string_view kLintUsage =
    "usage: sagactl lint FILE...\n"
    "\n"
    "Checks flow files: YAML syntax, keys and types, step references, expressions,\n"
    "durations, compensations and retry bounds. Prints each problem to stderr as\n"
    "file:line:col: error: message, then a summary.\n"
    "Exit status: 0 when every file is clean, 1 when any has an error, 2 on usage errors.\n";

}  // namespace

int run_lint(std::span<const std::string_view> args, Context& ctx) {
  for (std::string_view arg : args) {
    if (arg == "--help" || arg == "-h") {
      ctx.out << kLintUsage;
      return kExitOk;
    }
    if (arg.starts_with("-")) {
      ctx.err << "sagactl lint: unknown option '" << arg << "'\n" << kLintUsage;
      return kExitUsage;
    }
  }
  if (args.empty()) {
    ctx.err << "sagactl lint: no files given\n" << kLintUsage;
    return kExitUsage;
  }
  std::size_t files_with_errors = 0;
  std::size_t errors = 0;
  for (std::string_view file : args) {
    const auto result = sagaflow::flow::load_flow_file(std::string(file));
    for (const auto& diagnostic : result.diagnostics) {
      ctx.err << sagaflow::text::printable(diagnostic.to_string()) << '\n';
    }
    errors += result.diagnostics.size();
    if (!result.ok()) ++files_with_errors;
  }
  ctx.err << args.size() << (args.size() == 1 ? " file" : " files") << " checked: "
          << (files_with_errors == 0
                  ? "all clean"
                  : std::to_string(errors) + (errors == 1 ? " error" : " errors") + " in " +
                        std::to_string(files_with_errors) +
                        (files_with_errors == 1 ? " file" : " files"))
          << '\n';
  return files_with_errors == 0 ? kExitOk : kExitFailure;
}

}  // namespace sagactl
