// `sagactl simulate FLOW [--depth 1|2] [--json]`: every failure case of a flow on the real
// engine with generated participants (sagaflow/simulation/simulator.hpp), as a matrix of cases
// by checks; a violation prints the case's history and exits 1.
#include <ostream>
#include <string>

#include <boost/json.hpp>

#include "args.hpp"
#include "command.hpp"
#include "output.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/simulation/simulator.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

using sagaflow::simulation::CaseReport;
using sagaflow::simulation::kChecks;
using sagaflow::text::printable;

constexpr std::string_view kSimulateUsage =
    "usage: sagactl simulate FLOW.yaml [--depth 1|2] [--json]\n"
    "\n"
    "Runs the flow on the real engine with a manual clock and generated participants, once\n"
    "per failure case: for every command, foreach item, compensation and wait, each way it can\n"
    "go wrong (a business failure, retries exhausted, a timeout after the effect was applied, a\n"
    "lost reply then a duplicate, a reply after compensation began, a cancel, a wait that times\n"
    "out or gets its failure event, a compensation that keeps failing then an operator retry).\n"
    "Each case is checked: the saga ends; every effect applied is undone exactly once (none\n"
    "when it completed; an irreversible step's stands); no compensation is sent before its\n"
    "command; on_compensated runs when the saga compensates. Prints a matrix of cases by\n"
    "checks, then the history of each case that violates a check.\n"
    "\n"
    "  --depth 1|2  1: one failure per case (default); 2: also every pair of failures\n"
    "  --json       print {\"flow\", \"depth\", \"cases\", \"violations\", \"results\": [...]}\n"
    "\n"
    "Exit status: 0 no violation, 1 a violation (or the flow file has errors), 2 usage.\n";

const char* cell(const sagaflow::simulation::CheckResult& check) {
  if (!check.applies) return "-";
  return check.ok ? "ok" : "FAIL";
}

boost::json::object json_result(const CaseReport& report) {
  boost::json::object checks;
  boost::json::array problems;
  for (std::size_t i = 0; i < kChecks.size(); ++i) {
    checks[to_string(kChecks[i])] = cell(report.checks[i]);
    if (report.checks[i].applies && !report.checks[i].ok) {
      problems.push_back({{"check", to_string(kChecks[i])}, {"detail", report.checks[i].detail}});
    }
  }
  boost::json::object out{{"case", report.sim_case.name()},
                          {"status", report.status},
                          {"operator_retry", report.retried},
                          {"checks", std::move(checks)},
                          {"violations", std::move(problems)}};
  if (report.violated()) {
    boost::json::array history;
    for (const auto& row : report.history) {
      history.push_back({{"kind", row.kind}, {"step", row.step}, {"detail", row.detail}});
    }
    out["history"] = std::move(history);
  }
  return out;
}

std::string end_of(const CaseReport& report) {
  return report.status + (report.retried ? " (retried)" : "");
}

// Columns two spaces apart, each as wide as its widest cell.
void print_matrix(const std::vector<CaseReport>& reports, Context& ctx) {
  std::vector<std::string> header{"case", "end"};
  for (auto check : kChecks) header.emplace_back(to_string(check));
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : reports) {
    std::vector<std::string> row{r.sim_case.name(), end_of(r)};  // escaped by format_table
    for (const auto& check : r.checks) row.emplace_back(cell(check));
    rows.push_back(std::move(row));
  }
  ctx.out << format_table(header, rows);
}

void print_violation(const CaseReport& report, Context& ctx) {
  ctx.out << "\nviolation: " << printable(report.sim_case.name()) << " (ended "
          << printable(report.status) << ")\n";
  for (std::size_t i = 0; i < kChecks.size(); ++i) {
    if (report.checks[i].applies && !report.checks[i].ok) {
      ctx.out << "  " << to_string(kChecks[i]) << ": " << printable(report.checks[i].detail)
              << '\n';
    }
  }
  ctx.out << "  history:\n";
  for (const auto& row : report.history) {
    ctx.out << "    " << printable(row.kind) << (row.step.empty() ? "" : " ") << printable(row.step)
            << "  " << printable(row.detail) << '\n';
  }
}

}  // namespace

int run_simulate(std::span<const std::string_view> args, Context& ctx) {
  std::optional<std::string> depth_text;
  bool json = false;
  ArgParser parser("simulate", kSimulateUsage);
  parser.value("--depth", depth_text).flag("--json", json);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 1) return parser.usage_error(ctx, "give one flow file");
  const auto depth = depth_text ? parse_integer(*depth_text, 1, 2) : 1;
  if (!depth) return parser.usage_error(ctx, "--depth is 1 or 2");
  const auto loaded = sagaflow::flow::load_flow_file(parser.positional().front());
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) ctx.err << printable(d.to_string()) << '\n';
    return kExitFailure;
  }
  const sagaflow::Plan plan(loaded.flow);
  std::vector<CaseReport> reports;
  std::size_t violations = 0;
  for (const auto& sim_case : sagaflow::simulation::failure_cases(plan, static_cast<int>(*depth))) {
    reports.push_back(sagaflow::simulation::simulate_case(loaded.flow, sim_case));
    if (reports.back().violated()) ++violations;
  }
  const auto& flow = loaded.flow->name;
  if (json) {
    boost::json::array results;
    for (const auto& r : reports) results.push_back(json_result(r));
    ctx.out << boost::json::serialize(boost::json::object{{"flow", flow},
                                                          {"depth", *depth},
                                                          {"cases", reports.size()},
                                                          {"violations", violations},
                                                          {"results", std::move(results)}})
            << '\n';
    return violations == 0 ? kExitOk : kExitFailure;
  }
  print_matrix(reports, ctx);
  for (const auto& r : reports) {
    if (r.violated()) print_violation(r, ctx);
  }
  ctx.out << printable(flow) << ": " << reports.size() << " cases at depth " << *depth << ", "
          << violations << (violations == 1 ? " violation" : " violations") << '\n';
  return violations == 0 ? kExitOk : kExitFailure;
}

}  // namespace sagactl
