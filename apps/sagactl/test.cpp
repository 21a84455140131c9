// `sagactl test FLOW CASES [--junit FILE] [--json]`: runs a flow's test cases on the real engine
// without any service (sagaflow/simulation/case_runner.hpp) and reports like a test runner.
#include <chrono>
#include <fstream>
#include <ostream>
#include <string>

#include <boost/json.hpp>

#include "args.hpp"
#include "command.hpp"
#include "flow_diagram.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/simulation/case_runner.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

using sagaflow::simulation::CaseOutcome;
using sagaflow::simulation::Mismatch;
using sagaflow::text::printable;

constexpr std::string_view kTestUsage =
    "usage: sagactl test FLOW.yaml CASES.yaml [--junit FILE] [--json]\n"
    "\n"
    "Runs the flow's test cases on the real engine with a manual clock and no service: each\n"
    "command is answered as the case scripts it (by step and attempt), the case's events and\n"
    "cancel arrive at their times, and time skips ahead to the next timer until the saga ends.\n"
    "Then the end status, the commands and compensations in order, the step outputs and the\n"
    "published events are compared with what the case expects. The case file's format is in\n"
    "docs/flow-tooling.md.\n"
    "\n"
    "Prints one line per case (ok or FAIL), a diff under each failure, then a summary.\n"
    "\n"
    "  --junit FILE  also write a JUnit XML report to FILE\n"
    "  --json        print {\"flow\", \"file\", \"passed\", \"failed\", \"cases\": [...]} instead\n"
    "\n"
    "Exit status: 0 every case passed, 1 a case failed or a file has errors (printed as\n"
    "file:line:col: error: message), 2 usage.\n";

struct Ran {
  CaseOutcome outcome;
  double seconds = 0;  // wall time
};

std::vector<std::string> string_list(const boost::json::value& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const auto& item : value.as_array()) {
    out.push_back(item.is_string() ? std::string(item.as_string()) : boost::json::serialize(item));
  }
  return out;
}

// The lines that explain one failed case, indented under its name.
std::vector<std::string> failure_lines(const CaseOutcome& outcome) {
  std::vector<std::string> out;
  if (!outcome.error.empty()) out.push_back("error: " + outcome.error);
  for (const Mismatch& m : outcome.mismatches) {
    if (m.expected.is_array() && m.actual.is_array()) {
      out.push_back(m.field + ": (- expected, + actual)");
      for (auto& line :
           sagaflow::simulation::diff_lines(string_list(m.expected), string_list(m.actual))) {
        out.push_back("  " + line);
      }
    } else if (m.expected.is_string() && m.actual.is_string()) {
      out.push_back(m.field + ": expected " + std::string(m.expected.as_string()) + ", got " +
                    std::string(m.actual.as_string()));
    } else {
      out.push_back(m.field + ": (- expected, + actual)");
      out.push_back("  - " + boost::json::serialize(m.expected));
      out.push_back("  + " + boost::json::serialize(m.actual));
    }
  }
  return out;
}

std::string xml_escaped(std::string_view text) {
  std::string out;
  for (char c : printable(text)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string junit_report(const std::string& flow, const std::string& file,
                         const std::vector<Ran>& runs, std::size_t failed, double seconds) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const std::string counts = " tests=\"" + std::to_string(runs.size()) + "\" failures=\"" +
                             std::to_string(failed) + "\" errors=\"0\" skipped=\"0\"";
  const std::string time = " time=\"" + std::to_string(seconds) + "\"";
  xml += "<testsuites" + counts + time + ">\n";
  xml += "  <testsuite name=\"" + xml_escaped(flow) + "\"" + counts + time + " file=\"" +
         xml_escaped(file) + "\">\n";
  for (const auto& run : runs) {
    const auto& outcome = run.outcome;
    xml += "    <testcase classname=\"" + xml_escaped(flow) + "\" name=\"" +
           xml_escaped(outcome.name) + "\" file=\"" + xml_escaped(file) + "\" line=\"" +
           std::to_string(outcome.line) + "\" time=\"" + std::to_string(run.seconds) + "\"";
    if (outcome.passed) {
      xml += "/>\n";
      continue;
    }
    const auto lines = failure_lines(outcome);
    std::string body;
    for (const auto& line : lines) body += xml_escaped(line) + "\n";
    xml += ">\n      <failure message=\"" + xml_escaped(lines.empty() ? "failed" : lines.front()) +
           "\" type=\"expectation\">" + body + "</failure>\n    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

boost::json::object json_report(const std::string& flow, const std::string& file,
                                const std::vector<Ran>& runs, std::size_t failed) {
  boost::json::array cases;
  for (const auto& run : runs) {
    const auto& outcome = run.outcome;
    boost::json::array mismatches;
    for (const auto& m : outcome.mismatches) {
      mismatches.push_back({{"field", m.field}, {"expected", m.expected}, {"actual", m.actual}});
    }
    boost::json::object item{{"name", outcome.name},
                             {"line", outcome.line},
                             {"passed", outcome.passed},
                             {"simulated_ms", outcome.simulated.count()},
                             {"mismatches", std::move(mismatches)}};
    if (!outcome.error.empty()) item["error"] = outcome.error;
    cases.push_back(std::move(item));
  }
  return {{"flow", flow},
          {"file", file},
          {"passed", runs.size() - failed},
          {"failed", failed},
          {"cases", std::move(cases)}};
}

// Prints a file's diagnostics as lint does; returns whether there were none.
bool report_diagnostics(const std::vector<sagaflow::flow::Diagnostic>& diagnostics, Context& ctx) {
  for (const auto& diagnostic : diagnostics) {
    ctx.err << printable(diagnostic.to_string()) << '\n';
  }
  return diagnostics.empty();
}

}  // namespace

int run_test(std::span<const std::string_view> args, Context& ctx) {
  std::optional<std::string> junit;
  bool json = false;
  ArgParser parser("test", kTestUsage);
  parser.value("--junit", junit).flag("--json", json);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 2) {
    return parser.usage_error(ctx, "give a flow file and a case file");
  }
  const auto& flow_file = parser.positional()[0];
  const auto& case_file = parser.positional()[1];
  const auto loaded = sagaflow::flow::load_flow_file(flow_file);
  if (!report_diagnostics(loaded.diagnostics, ctx) || !loaded.ok()) return kExitFailure;
  const sagaflow::Plan plan(loaded.flow);
  const auto cases = sagaflow::simulation::load_case_file(case_file, &plan);
  if (!report_diagnostics(cases.diagnostics, ctx)) return kExitFailure;

  std::vector<Ran> runs;
  std::size_t failed = 0;
  const auto all_started = std::chrono::steady_clock::now();
  for (const auto& test : cases.cases.cases) {
    const auto started = std::chrono::steady_clock::now();
    Ran run{sagaflow::simulation::run_case(loaded.flow, test)};
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!run.outcome.passed) ++failed;
    runs.push_back(std::move(run));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - all_started).count();
  const std::string& flow = loaded.flow->name;

  if (junit) {
    std::ofstream out(*junit, std::ios::binary | std::ios::trunc);
    out << junit_report(flow, case_file, runs, failed, seconds);
    if (!out) {
      ctx.err << "sagactl test: cannot write " << printable(*junit) << '\n';
      return kExitFailure;
    }
  }
  if (json) {
    ctx.out << boost::json::serialize(json_report(flow, case_file, runs, failed)) << '\n';
    return failed == 0 ? kExitOk : kExitFailure;
  }
  ctx.out << printable(flow) << ": " << runs.size() << (runs.size() == 1 ? " case" : " cases")
          << " from " << printable(case_file) << '\n';
  for (const auto& run : runs) {
    const auto& outcome = run.outcome;
    ctx.out << (outcome.passed ? "ok    " : "FAIL  ") << printable(outcome.name) << "  (line "
            << outcome.line << ", " << format_duration(outcome.simulated) << " on the clock)\n";
    if (outcome.passed) continue;
    for (const auto& line : failure_lines(outcome)) ctx.out << "      " << printable(line) << '\n';
  }
  ctx.out << runs.size() << (runs.size() == 1 ? " case: " : " cases: ") << runs.size() - failed
          << " passed, " << failed << " failed\n";
  return failed == 0 ? kExitOk : kExitFailure;
}

}  // namespace sagactl
